// A cluster backup's volumes: each bound PersistentVolumeClaim of the policy's namespaces whose
// volume is a DigitalOcean block storage volume (CSI driver dobs.csi.digitalocean.com, the volume's
// id as its volumeHandle) gets a volume snapshot through the DigitalOcean API, named
// opsflow.<policy>.<namespace>-<claim>.<20260301T020000Z> (the run's start), so a retried step finds
// the snapshot it already took instead of taking a second one. Claims on other storage are listed
// as skipped, with the reason.
import type { DigitalOceanClient } from '../../integrations/digitalocean/client';
import { digitalOceanResources } from '../../integrations/digitalocean/resources';
import type { KubernetesClient } from '../../integrations/kubernetes/client';
import { snapshotName } from '../../backups/snapshot-names';
import type { ClusterBackupPolicy } from '../../specs/cluster-backup-policy';

export const DO_CSI_DRIVER = 'dobs.csi.digitalocean.com';

export interface ClusterVolumeSnapshot {
  namespace: string;
  claim: string;
  volumeId: string;
  snapshotId: string;
  name: string;
  sizeGigabytes: number;
}

export interface ClusterVolumeSnapshots {
  taken: ClusterVolumeSnapshot[];
  /** `shop/cache: not bound`, `shop/tmp: volume of driver rancher.io/local-path`. */
  skipped: string[];
}

export async function snapshotClusterVolumes(
  client: KubernetesClient,
  digitalOcean: DigitalOceanClient,
  policy: ClusterBackupPolicy,
  takenAt: string,
): Promise<ClusterVolumeSnapshots> {
  const api = digitalOceanResources(digitalOcean);
  const result: ClusterVolumeSnapshots = { taken: [], skipped: [] };
  const existing = await api.snapshots.list({ resource_type: 'volume' });
  for (const namespace of policy.resources.namespaces) {
    const claims = await client.list('v1', 'PersistentVolumeClaim', namespace, { labelSelector: policy.resources.labelSelector });
    for (const claim of claims.items) {
      const label = `${namespace}/${claim.metadata.name}`;
      const volumeName = claim.spec?.volumeName as string | undefined;
      if (claim.status?.phase !== 'Bound' || !volumeName) {
        result.skipped.push(`${label}: not bound`);
        continue;
      }
      const volume = await client.get({ apiVersion: 'v1', kind: 'PersistentVolume', name: volumeName });
      const csi = volume?.spec?.csi as { driver?: string; volumeHandle?: string } | undefined;
      if (csi?.driver !== DO_CSI_DRIVER || !csi.volumeHandle) {
        result.skipped.push(
          `${label}: volume ${volumeName} is not a DigitalOcean volume (${csi?.driver ? `CSI driver ${csi.driver}` : 'no CSI driver'})`,
        );
        continue;
      }
      const name = snapshotName(policy.name, `${namespace}-${claim.metadata.name}`, takenAt);
      const snapshot =
        existing.find((s) => s.name === name && s.resource_id === csi.volumeHandle) ?? (await api.volumes.snapshot(csi.volumeHandle, name));
      result.taken.push({
        namespace,
        claim: claim.metadata.name,
        volumeId: csi.volumeHandle,
        snapshotId: String(snapshot.id),
        name,
        sizeGigabytes: snapshot.size_gigabytes,
      });
    }
  }
  return result;
}
