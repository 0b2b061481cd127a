// Kubernetes Secrets made from secret references, resolved here on the worker: the workflow's
// input and history carry only `env:NAME` or `file:/path` per key, never a value, and nothing of a
// value is logged or returned. Each Secret is server-side applied (field manager `opsflow`), after
// its namespace (applied too, as the manifests would), so the pods that read it find it at start.
import { secretResolver, type SecretResolver } from '../../backups/secrets';
import type { ObjectRef } from '../../integrations/kubernetes/refs';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { clusterClient, type KubernetesDeps } from './deps';
import { kubernetesStep } from './failures';

/** One Secret: each data key's value is a secret reference the worker resolves. */
export interface SecretFromRefs {
  namespace: string;
  name: string;
  data: Record<string, string>;
}

export interface ApplySecretsInput {
  clusterId: string;
  secrets: SecretFromRefs[];
}

export function applySecretsActivity(deps: KubernetesDeps & { resolveSecret?: SecretResolver }) {
  return async function applyKubernetesSecrets(input: ApplySecretsInput): Promise<ObjectRef[]> {
    const resolve = deps.resolveSecret ?? secretResolver(process.env);
    return kubernetesStep(async (progress) => {
      const client = await clusterClient(deps, input.clusterId);
      const applied: ObjectRef[] = [];
      for (const secret of input.secrets) {
        const stringData: Record<string, string> = {};
        for (const [key, ref] of Object.entries(secret.data)) {
          try {
            stringData[key] = await resolve(ref);
          } catch (err) {
            // The resolver's message names the reference and why it is refused, never a value.
            throw failure(
              STEP_FAILURE.SecretUnavailable,
              `Secret ${secret.namespace}/${secret.name} key ${key}: ${(err as Error).message}`,
            );
          }
        }
        await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: secret.namespace } }, { force: false });
        const ref: ObjectRef = { apiVersion: 'v1', kind: 'Secret', namespace: secret.namespace, name: secret.name };
        await client.apply(
          { apiVersion: 'v1', kind: 'Secret', metadata: { name: secret.name, namespace: secret.namespace }, type: 'Opaque', stringData },
          { force: false },
        );
        applied.push(ref);
        progress({ applied: applied.length, of: input.secrets.length });
      }
      return applied;
    });
  };
}
