// The environment's private network (a VPC) and its firewall. A create that may find its own
// resource (a retry, an environment an earlier run touched) first looks by name and owner mark;
// a fresh first attempt creates at once and looks only if the VPC's name turns out taken. Each
// delete treats "not found" as done.
import { ApplicationFailure } from '@temporalio/activity';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { environmentTag, ownerDescription } from '../../names/ownership-tags';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { conflict, resourcesOf, type DigitalOceanDeps } from './deps';
import { deleteIgnoringNotFound, digitalOceanStep } from './failures';
import { mustLookFirst, nameTaken } from './look-first';
import { inboundRules, OPEN_OUTBOUND } from './translate';

type NetworkActivities = Pick<
  CloudProviderActivities,
  'ensureNetwork' | 'deleteNetwork' | 'ensureFirewall' | 'deleteFirewall' | 'setFirewallInbound'
>;

export function networkActivities(deps: DigitalOceanDeps): NetworkActivities {
  const api = resourcesOf(deps);
  return {
    async ensureNetwork(input) {
      return digitalOceanStep(async () => {
        const { vpcs } = api();
        const mark = ownerDescription(input.owner);
        const ours = async () => {
          const existing = (await vpcs.list()).find((v) => v.name === input.name);
          if (existing && existing.description !== mark) throw conflict(`VPC ${input.name}`);
          return existing && { id: existing.id };
        };
        const found = mustLookFirst(input) ? await ours() : undefined;
        if (found) return found;
        try {
          const vpc = await vpcs.create({ name: input.name, region: input.region, ip_range: input.ipRange, description: mark });
          return { id: vpc.id };
        } catch (err) {
          // VPC names are unique in an account: a refusal may be a name someone else holds.
          const taken = nameTaken(err) ? await ours() : undefined;
          if (taken) return taken;
          throw err;
        }
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
        // Firewall names need not be unique: a fresh first attempt has nothing to look for.
        const existing = mustLookFirst(input) ? (await firewalls.list()).find((f) => f.name === input.name) : undefined;
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

    async setFirewallInbound(input) {
      return digitalOceanStep(async () => {
        const { firewalls } = api();
        // DigitalOcean replaces a firewall whole: what it covers and its outbound rules are sent back as they are.
        const current = await firewalls.get(input.id);
        await firewalls.update(input.id, {
          name: current.name,
          tags: current.tags,
          droplet_ids: current.droplet_ids ?? [],
          inbound_rules: inboundRules(input.inbound),
          outbound_rules: current.outbound_rules ?? OPEN_OUTBOUND,
        });
      });
    },
  };
}
