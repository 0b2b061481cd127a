// The environment's private network (a VPC) and its firewall. Each create first looks for its
// resource by name and owner mark and returns it if it is there; each delete treats "not found" as done.
import { ApplicationFailure } from '@temporalio/activity';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { environmentTag, ownerDescription } from '../../names/ownership-tags';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { conflict, resourcesOf, type DigitalOceanDeps } from './deps';
import { deleteIgnoringNotFound, digitalOceanStep } from './failures';
import { inboundRules, OPEN_OUTBOUND } from './translate';

type NetworkActivities = Pick<CloudProviderActivities, 'ensureNetwork' | 'deleteNetwork' | 'ensureFirewall' | 'deleteFirewall'>;

export function networkActivities(deps: DigitalOceanDeps): NetworkActivities {
  const api = resourcesOf(deps);
  return {
    async ensureNetwork(input) {
      return digitalOceanStep(async () => {
        const { vpcs } = api();
        const mark = ownerDescription(input.owner);
        const existing = (await vpcs.list()).find((v) => v.name === input.name);
        if (existing) {
          if (existing.description !== mark) throw conflict(`VPC ${input.name}`);
          return { id: existing.id };
        }
        const vpc = await vpcs.create({ name: input.name, region: input.region, ip_range: input.ipRange, description: mark });
        return { id: vpc.id };
      });
    },

    async deleteNetwork(input) {
      // 409 while droplets are still leaving the VPC is a conflict kind: not retryable by default,
      // so say it here: wait and retry.
      return digitalOceanStep(() => deleteIgnoringNotFound(() => api().vpcs.delete(input.id))).catch((err: unknown) => {
        if (err instanceof ApplicationFailure && err.type === STEP_FAILURE.DigitalOceanConflict)
          throw failure(STEP_FAILURE.VpcStillInUse, err.message, { retryable: true });
        throw err;
      });
    },

    async ensureFirewall(input) {
      return digitalOceanStep(async () => {
        const { firewalls } = api();
        const existing = (await firewalls.list()).find((f) => f.name === input.name);
        const envTag = environmentTag(input.owner.environment);
        if (existing) {
          if (!existing.tags.includes(envTag)) throw conflict(`firewall ${input.name}`);
          return { id: existing.id };
        }
        // The firewall follows the environment's tag, so droplets are covered as they appear.
        const firewall = await firewalls.create({
          name: input.name,
          tags: [envTag],
          inbound_rules: inboundRules(input.inbound),
          outbound_rules: OPEN_OUTBOUND,
        });
        return { id: firewall.id };
      });
    },

    async deleteFirewall(input) {
      return digitalOceanStep(() => deleteIgnoringNotFound(() => api().firewalls.delete(input.id)));
    },
  };
}
