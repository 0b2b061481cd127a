// Volumes are Linode Block Storage volumes, found again by label and the run's tag; they appear on
// their instance at Linode's by-id path.
import { attachVolume, createVolume, deleteVolume, detachVolume, getVolume, getVolumes } from '@linode/api-v4';
import { ownerTags, workflowTag } from '../../names/ownership-tags';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { connect, type LinodeDeps } from './deps';
import { linodeStep, statusOf } from './failures';
import { allPages } from './translate';

type VolumeActivities = Pick<CloudProviderActivities, 'ensureVolume' | 'attachVolume' | 'detachVolume' | 'deleteVolume'>;

export function volumeActivities(deps: LinodeDeps): VolumeActivities {
  return {
    async ensureVolume(input) {
      return linodeStep(`create volume ${input.name}`, async () => {
        connect(deps);
        let volume = (await allPages((params) => getVolumes(params, { label: input.name })))[0];
        if (volume && !volume.tags.includes(workflowTag(input.owner)))
          throw failure(
            STEP_FAILURE.ResourceConflict,
            `volume ${input.name} already exists and is not managed by this opsflow run; rename it or remove it`,
          );
        // The filesystem is made on the instance when the volume is first mounted: Linode's API has no say in it.
        volume ??= await createVolume({ label: input.name, region: input.region, size: input.sizeGb, tags: ownerTags(input.owner) });
        return { id: String(volume.id), name: volume.label, devicePath: volume.filesystem_path };
      });
    },

    async attachVolume(input) {
      return linodeStep(`attach volume ${input.volumeId}`, async () => {
        connect(deps);
        const volume = await getVolume(Number(input.volumeId));
        if (volume.linode_id === input.serverId) return;
        await attachVolume(volume.id, { linode_id: input.serverId });
      });
    },

    async detachVolume(input) {
      return linodeStep(`detach volume ${input.volumeId}`, async () => {
        connect(deps);
        const volume = await getVolume(Number(input.volumeId));
        if (volume.linode_id === null) return;
        if (volume.linode_id !== input.serverId)
          throw failure(
            STEP_FAILURE.ResourceConflict,
            `volume ${volume.label} is attached to Linode ${volume.linode_id}, not ${input.serverId}`,
          );
        await detachVolume(volume.id);
      });
    },

    async deleteVolume(input) {
      return linodeStep(`delete volume ${input.id}`, async () => {
        connect(deps);
        try {
          await deleteVolume(Number(input.id));
          return 'deleted';
        } catch (error) {
          if (statusOf(error) === 404) return 'already gone';
          throw error;
        }
      });
    },
  };
}
