// Firewalls are Linode Cloud Firewalls, found again by label and the run's tag; inbound closed but
// for the rules given, outbound open.
import { createFirewall, deleteFirewall, getFirewalls, updateFirewallRules } from '@linode/api-v4';
import { ownerTags, workflowTag } from '../../names/ownership-tags';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { connect, type LinodeDeps } from './deps';
import { linodeStep, statusOf } from './failures';
import { allPages, inboundRules } from './translate';

type FirewallActivities = Pick<CloudProviderActivities, 'ensureFirewall' | 'deleteFirewall' | 'setFirewallInbound'>;

export function firewallActivities(deps: LinodeDeps): FirewallActivities {
  return {
    async ensureFirewall(input) {
      return linodeStep(`create firewall ${input.name}`, async () => {
        connect(deps);
        const existing = (await allPages((params) => getFirewalls(params, { label: input.name })))[0];
        if (existing) {
          if (!existing.tags.includes(workflowTag(input.owner)))
            throw failure(
              STEP_FAILURE.ResourceConflict,
              `firewall ${input.name} already exists and is not managed by this opsflow run; rename it or remove it`,
            );
          return { id: String(existing.id) };
        }
        const created = await createFirewall({ label: input.name, rules: inboundRules(input.inbound), tags: ownerTags(input.owner) });
        return { id: String(created.id) };
      });
    },

    async setFirewallInbound(input) {
      return linodeStep(`replace the inbound rules of firewall ${input.id}`, async () => {
        connect(deps);
        await updateFirewallRules(Number(input.id), inboundRules(input.inbound));
      });
    },

    async deleteFirewall(input) {
      return linodeStep(`delete firewall ${input.id}`, async () => {
        connect(deps);
        try {
          await deleteFirewall(Number(input.id));
          return 'deleted';
        } catch (error) {
          if (statusOf(error) === 404) return 'already gone';
          throw error;
        }
      });
    },
  };
}
