// Kubeconfig files: one per component of a plane, and the one the DOKS API hands out (named as
// DigitalOcean names its contexts, `do-<region>-<cluster>`).
import { stringify } from 'yaml';

export interface KubeconfigInput {
  /** Cluster, context and user names derive from it. */
  name: string;
  server: string;
  caPem: string;
  token: string;
  user?: string;
}

export function renderKubeconfig(input: KubeconfigInput): string {
  const user = input.user ?? `${input.name}-admin`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: input.name, cluster: { server: input.server, 'certificate-authority-data': Buffer.from(input.caPem).toString('base64') } },
    ],
    contexts: [{ name: input.name, context: { cluster: input.name, user } }],
    'current-context': input.name,
    preferences: {},
    users: [{ name: user, user: { token: input.token } }],
  });
}
