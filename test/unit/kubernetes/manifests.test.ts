// Manifests are checked before anything reaches a cluster: what the API path needs, no Secret values
// (they would stay in workflow history), and an order the API server takes in one pass.
import { checkManifest, inApplyOrder, parseManifestsYaml, refOf, type Manifest } from '../../../src/integrations/kubernetes/manifests';

const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: {} };

test('a manifest without what the API path needs is refused, naming which manifest and which field', () => {
  expect(() => checkManifest('text', 'manifest 2')).toThrow('manifest 2 is not an object');
  expect(() => checkManifest({ kind: 'Service', metadata: { name: 'x' } }, 'manifest 1')).toThrow('manifest 1: apiVersion is missing');
  expect(() => checkManifest({ apiVersion: 'v1', metadata: { name: 'x' } }, 'manifest 1')).toThrow('manifest 1: kind is missing');
  expect(() => checkManifest({ apiVersion: 'v1', kind: 'Service', metadata: {} }, 'manifest 3')).toThrow(
    'manifest 3 (Service): metadata.name is missing',
  );
  expect(() => checkManifest({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', namespace: '' } }, 'manifest 1')).toThrow(
    'metadata.namespace must be a non-empty string',
  );
  expect(refOf(checkManifest(deployment, 'manifest 1'))).toEqual({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: 'shop',
    name: 'web',
  });
});

test("a Secret with values is refused: they would be stored in the workflow's history", () => {
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'hunter2' } };
  expect(() => checkManifest(secret, 'manifest 4')).toThrow(
    /manifest 4 \(Secret db\): a Secret's data would be stored in workflow history/,
  );
  expect(() => checkManifest(secret, 'manifest 4')).not.toThrow(/hunter2/);
  // An empty Secret (filled on the worker later) is fine.
  expect(checkManifest({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' } }, 'm').kind).toBe('Secret');
});

test('namespaces and definitions go first; the rest keep the order given', () => {
  const m = (kind: string, name: string): Manifest => ({ apiVersion: 'v1', kind, metadata: { name } });
  const ordered = inApplyOrder([m('Service', 'a'), m('Deployment', 'b'), m('ConfigMap', 'c'), m('Namespace', 'd'), m('Service', 'e')]);
  expect(ordered.map((x) => `${x.kind}/${x.metadata.name}`)).toEqual([
    'Namespace/d',
    'ConfigMap/c',
    'Service/a',
    'Deployment/b',
    'Service/e',
  ]);
});

test('multi-document YAML: every document checked, empty ones skipped, errors name the document', () => {
  const text = `apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n---\n---\napiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: shop }\n`;
  expect(parseManifestsYaml(text, 'stack.yaml').map((x) => x.kind)).toEqual(['Namespace', 'Service']);
  expect(() => parseManifestsYaml('apiVersion: v1\nkind: Service\nmetadata: {}\n', 'svc.yaml')).toThrow(
    'svc.yaml document 1 (Service): metadata.name is missing',
  );
  expect(() => parseManifestsYaml('a: [1, 2\n', 'bad.yaml')).toThrow(/^bad\.yaml document 1: /);
});
