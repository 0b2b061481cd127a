// Volumes: created under the run's tags (found again by name and region: looked for first only
// when the attempt may find its own, see look-first.ts), attached and detached through actions
// that are waited for, deleted with "not found" as done.
import { workflowTag, ownerTags } from '../../names/ownership-tags';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { conflict, DEFAULT_POLL, resourcesOf, type DigitalOceanDeps } from './deps';
import { deleteIgnoringNotFound, digitalOceanStep, findOrUndefined } from './failures';
import { mustLookFirst, nameTaken } from './look-first';
import { volumeDevicePath } from './translate';
import { cloudWaits } from './wait';

type VolumeActivities = Pick<CloudProviderActivities, 'ensureVolume' | 'attachVolume' | 'detachVolume' | 'deleteVolume'>;

export function volumeActivities(deps: DigitalOceanDeps): VolumeActivities {
  const api = resourcesOf(deps);
  const { waitForAction } = cloudWaits(deps.pollMs ?? DEFAULT_POLL);
  return {
    async ensureVolume(input) {
      return digitalOceanStep(async () => {
        const { volumes } = api();
        const ours = async () => {
          const [existing] = await volumes.list({ name: input.name, region: input.region });
          if (existing && !existing.tags.includes(workflowTag(input.owner))) throw conflict(`volume ${input.name} in ${input.region}`);
          return existing;
        };
        const create = async () => {
          try {
            return await volumes.create({
              name: input.name,
              region: input.region,
              size_gigabytes: input.sizeGb,
              filesystem_type: input.filesystem,
              tags: ownerTags(input.owner),
            });
          } catch (err) {
            // Volume names are unique in a region: a refusal may be a name someone else holds.
            const taken = nameTaken(err) ? await ours() : undefined;
            if (taken) return taken;
            throw err;
          }
        };
        const volume = (mustLookFirst(input) ? await ours() : undefined) ?? (await create());
        return { id: volume.id, name: input.name, devicePath: volumeDevicePath(input.name) };
      });
    },

    async attachVolume(input) {
      return digitalOceanStep(async () => {
        const resources = api();
        // A fresh first attempt attaches a volume this run has just made: attached to nothing yet.
        if (mustLookFirst(input) && (await resources.volumes.get(input.volumeId)).droplet_ids.includes(input.serverId)) return;
        const action = await resources.volumes.act(input.volumeId, { type: 'attach', droplet_id: input.serverId, region: input.region });
        await waitForAction(resources, action.id, `attach volume ${input.volumeId}`);
      });
    },

    async detachVolume(input) {
      return digitalOceanStep(async () => {
        const resources = api();
        const volume = await findOrUndefined(() => resources.volumes.get(input.volumeId));
        if (!volume || !volume.droplet_ids.includes(input.serverId)) return;
        const action = await resources.volumes.act(input.volumeId, { type: 'detach', droplet_id: input.serverId, region: input.region });
        await waitForAction(resources, action.id, `detach volume ${input.volumeId}`);
      });
    },

    async deleteVolume(input) {
      return digitalOceanStep(() => deleteIgnoringNotFound(() => api().volumes.delete(input.id)));
    },
  };
}
