// Where each object goes in a cluster backup archive: Velero's layout (velero.io, "Backup format"),
// so the archive reads like one of its backups with `tar -tzf`:
//   metadata/version                                   "1"
//   metadata/manifest.json                             every entry below (opsflow's, not Velero's)
//   resources/<resource>[.<group>]/namespaces/<ns>/<name>.json
//   resources/namespaces/cluster/<ns>.json             the namespace object itself
// The core group has no suffix (`resources/configmaps/...`), others do (`deployments.apps`). Pure.

export const LAYOUT_VERSION = '1';
export const VERSION_PATH = 'metadata/version';
export const ARCHIVE_MANIFEST_PATH = 'metadata/manifest.json';

/** One object in the archive, as its manifest lists it. */
export interface ArchivedResource {
  path: string;
  apiVersion: string;
  kind: string;
  /** The plural resource name the API serves it under (`deployments`). */
  resource: string;
  namespace?: string;
  name: string;
  /** ConfigMaps and Secrets: the file holds an encrypted envelope (config-encryption.ts). */
  encrypted: boolean;
  /** SHA-256 (hex) of the file's bytes as stored. */
  sha256: string;
}

export const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

export function resourcePath(o: { apiVersion: string; resource: string; namespace?: string; name: string }): string {
  const group = groupOf(o.apiVersion);
  const folder = group ? `${o.resource}.${group}` : o.resource;
  return `resources/${folder}/${o.namespace ? `namespaces/${o.namespace}` : 'cluster'}/${o.name}.json`;
}

/** Kinds whose contents are configuration, possibly secret: always encrypted in the archive. */
export const ENCRYPTED_KINDS = new Set(['ConfigMap', 'Secret']);
