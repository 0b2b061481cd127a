// A Kubernetes environment spec (examples/stack-d.yaml's kind) read for `opsflow provision`: the
// example reads whole; each mistake is refused naming its file, line and field, before anything runs.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadClusterEnvironment } from '../../../src/client/load-cluster';
import { PROJECT_ROOT } from '../../../src/paths';
import { isClusterEnvironment } from '../../../src/specs/cluster-environment';
import { readYamlFile } from '../../../src/specs/load';
import { tempDir } from '../../helpers/temp';

const STACK_D = path.join(PROJECT_ROOT, 'examples', 'stack-d.yaml');

test('examples/stack-d.yaml: the cluster, its autoscaled pool and every object of its manifests', () => {
  expect(isClusterEnvironment(readYamlFile(STACK_D))).toBe(true);
  expect(isClusterEnvironment(readYamlFile(path.join(PROJECT_ROOT, 'examples', 'stack-a.yaml')))).toBe(false);
  const input = loadClusterEnvironment(STACK_D);
  expect(input.cluster).toEqual({
    name: 'stack-d',
    region: 'fra1',
    version: '1.34.3-do.0',
    nodePools: [{ name: 'apps', size: 's-2vcpu-4gb', count: 3, autoScale: { minNodes: 3, maxNodes: 6 } }],
  });
  const count = (kind: string) => input.manifests.filter((m) => m.kind === kind).length;
  expect([count('Namespace'), count('Deployment'), count('Service'), count('HorizontalPodAutoscaler')]).toEqual([2, 14, 14, 6]);
  expect([count('ServiceAccount'), count('Role'), count('RoleBinding'), count('ConfigMap')]).toEqual([1, 1, 1, 1]);
  expect([count('Gateway'), count('HTTPRoute'), count('Secret')]).toEqual([1, 6, 0]);
  // The database and RabbitMQ passwords as references only: the worker makes the Secrets.
  expect(input.secrets).toEqual([
    {
      namespace: 'shop',
      name: 'databases',
      data: Object.fromEntries(
        ['auth', 'catalog', 'orders', 'payments', 'notifications'].map((s) => [s, `env:OPSFLOW_SECRET_STACK_D_${s.toUpperCase()}_DB`]),
      ),
    },
    { namespace: 'shop', name: 'messaging', data: { password: 'env:OPSFLOW_SECRET_STACK_D_RABBITMQ' } },
  ]);
});

function specIn(dir: string, body: string): string {
  const file = path.join(dir, 'stack.yaml');
  writeFileSync(file, body);
  return file;
}

const HEAD = 'name: stack-x\nregion: fra1\nkubernetes:\n  version: 1.34.3-do.0\n';

test.each([
  [
    'a pool whose count is outside its autoscale range',
    `${HEAD}  nodePools: [{ name: apps, size: s-2vcpu-4gb, count: 7, autoScale: { minNodes: 3, maxNodes: 6 } }]\n  manifests: [a.yaml]\n`,
    /stack\.yaml:5:\d+: kubernetes\.nodePools\.0\.autoScale: count 7 must be within minNodes 3 and maxNodes 6/,
  ],
  [
    'a pool named twice',
    `${HEAD}  nodePools: [{ name: apps, size: s-1vcpu-2gb, count: 1 }, { name: apps, size: s-1vcpu-2gb, count: 1 }]\n  manifests: [a.yaml]\n`,
    /kubernetes\.nodePools\.1\.name: node pool apps is named twice/,
  ],
  ['no manifests', `${HEAD}  nodePools: [{ name: apps, size: s-1vcpu-2gb, count: 1 }]\n  manifests: []\n`, /kubernetes\.manifests/],
  [
    'a Secret value written where its reference belongs (not echoed)',
    `${HEAD}  nodePools: [{ name: apps, size: s-1vcpu-2gb, count: 1 }]\n  manifests: [a.yaml]\n  secrets: [{ namespace: shop, name: db, data: { password: hunter2 } }]\n`,
    /stack\.yaml:7:\d+: kubernetes\.secrets\.0\.data\.password: must be a secret reference: env:VARIABLE or file:\/absolute\/path$/,
  ],
  [
    'a misspelt field',
    `${HEAD}  nodePools: [{ name: apps, size: s-1vcpu-2gb, count: 1 }]\n  manifests: [a.yaml]\n  manifest: [b.yaml]\n`,
    /manifest/,
  ],
])('refused: %s', (_, body, message) => {
  const dir = tempDir('cluster-spec');
  writeFileSync(path.join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n');
  expect(() => loadClusterEnvironment(specIn(dir, body))).toThrow(message);
  expect(() => loadClusterEnvironment(specIn(dir, body))).not.toThrow(/hunter2/); // a value is never echoed
});

test('a manifest outside the spec folder, or missing its kind, is refused naming the field', () => {
  const dir = tempDir('cluster-spec-files');
  const outside = tempDir('cluster-spec-outside');
  writeFileSync(path.join(outside, 'x.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n');
  mkdirSync(path.join(dir, 'm'));
  symlinkSync(path.join(outside, 'x.yaml'), path.join(dir, 'm', 'link.yaml'));
  const pools = '  nodePools: [{ name: apps, size: s-1vcpu-2gb, count: 1 }]\n';
  expect(() => loadClusterEnvironment(specIn(dir, `${HEAD}${pools}  manifests: [m/link.yaml]\n`))).toThrow(
    /kubernetes\.manifests\[0\]: m\/link\.yaml is outside/,
  );
  writeFileSync(path.join(dir, 'm', 'bad.yaml'), 'apiVersion: v1\nmetadata: { name: shop }\n');
  expect(() => loadClusterEnvironment(specIn(dir, `${HEAD}${pools}  manifests: [m/bad.yaml]\n`))).toThrow(
    /kubernetes\.manifests\[0\]: m\/bad\.yaml document 1: kind is missing/,
  );
});
