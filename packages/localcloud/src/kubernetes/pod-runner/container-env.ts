// A container's environment as the kubelet builds it from `env`: plain values, and values taken
// from a Secret or ConfigMap key in the pod's namespace (read from the API server when the
// container starts). A missing object or key fails the start naming it, unless marked optional.
import type { KubeClient } from '../kube-client';
import type { Container } from './kube-types';

export class ContainerEnvError extends Error {}

export async function containerEnv(client: KubeClient, namespace: string, container: Container): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const objects = new Map<string, Record<string, string> | undefined>();
  const read = async (kind: 'secrets' | 'configmaps', name: string): Promise<Record<string, string> | undefined> => {
    const cacheKey = `${kind}/${name}`;
    if (!objects.has(cacheKey)) {
      const response = await client.call('GET', `/api/v1/namespaces/${namespace}/${kind}/${encodeURIComponent(name)}`, undefined);
      if (response.status === 404) objects.set(cacheKey, undefined);
      else if (response.status !== 200) throw new ContainerEnvError(`reading ${kind} ${name} answered ${response.status}`);
      else {
        const body = JSON.parse(response.body) as { data?: Record<string, string> };
        const data = body.data ?? {};
        objects.set(
          cacheKey,
          kind === 'secrets'
            ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))
            : data,
        );
      }
    }
    return objects.get(cacheKey);
  };
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    const ref = from?.secretKeyRef ?? from?.configMapKeyRef;
    if (!ref) {
      env[variable.name] = variable.value ?? '';
      continue;
    }
    const kind = from?.secretKeyRef ? 'secrets' : 'configmaps';
    const what = kind === 'secrets' ? 'secret' : 'configmap';
    const data = await read(kind, ref.name);
    const value = data?.[ref.key];
    if (value !== undefined) env[variable.name] = value;
    else if (!ref.optional)
      throw new ContainerEnvError(
        data ? `couldn't find key ${ref.key} in ${what} ${namespace}/${ref.name}` : `${what} "${ref.name}" not found`,
      );
  }
  return env;
}
