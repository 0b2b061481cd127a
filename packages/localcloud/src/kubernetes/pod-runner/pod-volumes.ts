// What the kubelet mounts into a container besides its image: ConfigMap and Secret volumes (each
// key a file), the projected service account volume the API server adds to every pod
// (`kube-api-access-*`: a token requested for the pod's service account, the cluster's CA, the
// namespace), and KUBERNETES_SERVICE_HOST/PORT pointing at the API server, so a program using
// in-cluster config (Prometheus's Kubernetes discovery) authenticates as the pod's service account.
// The files are written by the runner into the pod's folder outside the container's `/` and
// mounted read-only, so the container can never steer where they are written. emptyDir needs no
// mount (the container's `/` is its own and writable); other volume kinds are refused by name.
import { chownSync, lstatSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { KubeClient } from '../kube-client';
import type { Container, Pod, Volume } from './kube-types';

const FILE_NAME = /^[A-Za-z0-9._-]{1,253}$/;
const DEFAULT_TOKEN_SECONDS = 3607;

export class PodVolumeError extends Error {}

export interface ContainerMounts {
  mounts: { source: string; target: string }[];
  env: Record<string, string>;
}

function checkedMountPath(mountPath: string): string {
  const normal = path.posix.normalize(mountPath);
  if (!mountPath.startsWith('/') || mountPath.split('/').includes('..') || normal === '/')
    throw new PodVolumeError(`volumeMount path ${JSON.stringify(mountPath)} must be an absolute path other than / without ".."`);
  return normal;
}

export async function containerMounts(
  client: KubeClient,
  pod: Pod,
  container: Container,
  podDir: string,
  uid: number,
): Promise<ContainerMounts> {
  const base = path.join(podDir, 'volumes', container.name);
  rmSync(base, { recursive: true, force: true });
  const files = new VolumeFiles(client, pod, uid);
  const mounts: ContainerMounts['mounts'] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.spec.volumes?.find((v) => v.name === mount.name);
    if (!volume) throw new PodVolumeError(`volumeMount ${mount.name} names no volume of the pod`);
    if (volume.emptyDir) continue;
    const dir = path.join(base, mount.name);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (!(await files.write(volume, dir))) continue; // an optional source that is not there
    mounts.push({ source: dir, target: checkedMountPath(mount.mountPath) });
  }
  const server = new URL(client.server);
  return { mounts, env: { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port || '443' } };
}

class VolumeFiles {
  private readonly namespace: string;

  constructor(
    private readonly client: KubeClient,
    private readonly pod: Pod,
    private readonly uid: number,
  ) {
    this.namespace = pod.metadata.namespace ?? 'default';
  }

  /** The volume's files in `dir`; false when an optional source is missing (nothing to mount). */
  async write(volume: Volume, dir: string): Promise<boolean> {
    if (volume.configMap) return this.keys('configmaps', volume.configMap, dir, volume.name);
    if (volume.secret) return this.keys('secrets', { ...volume.secret, name: volume.secret.secretName }, dir, volume.name);
    if (volume.projected) {
      for (const source of volume.projected.sources ?? []) {
        if (source.serviceAccountToken) await this.token(dir, source.serviceAccountToken);
        else if (source.configMap) {
          // kube-root-ca.crt: the cluster's CA, which the runner holds itself.
          if (source.configMap.name === 'kube-root-ca.crt') this.file(dir, 'ca.crt', this.client.caPem, 0o644);
          else await this.keys('configmaps', source.configMap, dir, volume.name);
        } else if (source.downwardAPI) {
          for (const item of source.downwardAPI.items ?? [])
            if (item.fieldRef?.fieldPath === 'metadata.namespace') this.file(dir, item.path, this.namespace, 0o644);
        }
      }
      return true;
    }
    throw new PodVolumeError(`volume ${volume.name}: only configMap, secret, projected and emptyDir volumes are mounted here`);
  }

  private async keys(
    kind: 'configmaps' | 'secrets',
    ref: { name: string; items?: { key: string; path: string }[]; optional?: boolean },
    dir: string,
    volume: string,
  ): Promise<boolean> {
    const response = await this.client.call('GET', `/api/v1/namespaces/${this.namespace}/${kind}/${encodeURIComponent(ref.name)}`);
    if (response.status === 404 && ref.optional) return false;
    const what = kind === 'secrets' ? 'secret' : 'configmap';
    if (response.status !== 200) throw new PodVolumeError(`${what} "${ref.name}" not found`);
    const raw = (JSON.parse(response.body) as { data?: Record<string, string> }).data ?? {};
    const data =
      kind === 'secrets' ? Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : raw;
    for (const item of ref.items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
      if (data[item.key] === undefined) throw new PodVolumeError(`volume ${volume}: ${what} ${ref.name} has no key ${item.key}`);
      this.file(dir, item.path, data[item.key]!, kind === 'secrets' ? 0o400 : 0o644);
    }
    return true;
  }

  /** A token for the pod's service account, bound to the pod, as the kubelet requests it. */
  private async token(dir: string, source: { path: string; expirationSeconds?: number }): Promise<void> {
    const account = this.pod.spec.serviceAccountName ?? 'default';
    const { name, uid } = this.pod.metadata;
    const response = await this.client.call(
      'POST',
      `/api/v1/namespaces/${this.namespace}/serviceaccounts/${encodeURIComponent(account)}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          expirationSeconds: source.expirationSeconds ?? DEFAULT_TOKEN_SECONDS,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid },
        },
      },
    );
    if (response.status !== 201 && response.status !== 200)
      throw new PodVolumeError(`serviceaccount "${account}" gave no token (${response.status})`);
    this.file(dir, source.path, (JSON.parse(response.body) as { status: { token: string } }).status.token, 0o400);
  }

  /** A file of the volume; one only the pod reads (mode 0400) belongs to the pod's uid. */
  private file(dir: string, name: string, content: string, mode: number): void {
    if (!FILE_NAME.test(name)) throw new PodVolumeError(`a volume item path ${JSON.stringify(name)} is not a plain file name`);
    const file = path.join(dir, name);
    writeFileSync(file, content, { mode });
    if (mode === 0o400) chownSync(file, this.uid, this.uid);
  }
}

/**
 * The mount point of `target` made in the container's root before bwrap runs: bwrap would make
 * missing folders on the way 0700 and root's, closed to the pod's uid (/var/run/secrets/...). A
 * symbolic link on the way is refused, never followed: the pod may have planted one in its root.
 */
export function prepareMountPoint(root: string, target: string, kind: 'dir' | 'file'): void {
  const parts = path.posix.normalize(target).split('/').filter(Boolean);
  let at = root;
  parts.forEach((part, i) => {
    at = path.join(at, part);
    const last = i === parts.length - 1;
    const stat = lstatSync(at, { throwIfNoEntry: false });
    if (stat?.isSymbolicLink())
      throw new PodVolumeError(`cannot mount at ${target}: ${at.slice(root.length)} is a symbolic link in the container`);
    if (!stat) {
      if (last && kind === 'file') writeFileSync(at, '', { flag: 'wx', mode: 0o644 });
      else mkdirSync(at, { mode: 0o755 });
    } else if (!last && !stat.isDirectory())
      throw new PodVolumeError(`cannot mount at ${target}: ${at.slice(root.length)} is not a folder`);
  });
}
