// The environment's private network is a Linode VPC with one subnet over the spec's range; its
// instances join it through a `vpc` interface (servers.ts). VPCs carry no tags, so the owner's mark
// goes in the description, as DigitalOcean's VPCs carry it; a retry finds the VPC by label and mark.
import { createVPC, deleteVPC, getVPCs } from '@linode/api-v4';
import { ownerDescription } from '../../names/ownership-tags';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { connect, type LinodeDeps } from './deps';
import { linodeReasons, linodeStep, statusOf } from './failures';
import { allPages } from './translate';

type NetworkActivities = Pick<CloudProviderActivities, 'ensureNetwork' | 'deleteNetwork'>;

export function networkActivities(deps: LinodeDeps): NetworkActivities {
  return {
    async ensureNetwork(input) {
      return linodeStep(`create VPC ${input.name}`, async () => {
        connect(deps);
        const mark = ownerDescription(input.owner);
        const existing = (await allPages((params) => getVPCs(params, { label: input.name })))[0];
        if (existing) {
          if (existing.description !== mark)
            throw failure(
              STEP_FAILURE.ResourceConflict,
              `VPC ${input.name} already exists and is not managed by this opsflow run; rename it or remove it`,
            );
          return { id: String(existing.id) };
        }
        const vpc = await createVPC({
          label: input.name,
          region: input.region,
          description: mark,
          subnets: [{ label: input.name, ipv4: input.ipRange }],
        });
        return { id: String(vpc.id) };
      });
    },

    async deleteNetwork(input) {
      return linodeStep(`delete VPC ${input.id}`, async () => {
        connect(deps);
        try {
          await deleteVPC(Number(input.id));
          return 'deleted';
        } catch (error) {
          if (statusOf(error) === 404) return 'already gone';
          // Instances just deleted may still be listed in a subnet for a moment: wait and retry.
          if (statusOf(error) === 400)
            throw failure(STEP_FAILURE.VpcStillInUse, `delete VPC ${input.id}: ${linodeReasons(error)}`, { retryable: true });
          throw error;
        }
      });
    },
  };
}
