// The canary's objects from the stable Deployment and Service as the API server returns them: a
// copy with the new image, `track: canary` on its selector and pods, its own replicas, nothing
// the server generated; a Service with the stable one's ports and the canary's selector. A stable
// Service that would also select the canary's pods, a container the Deployment lacks, or a stable
// Deployment still rolling out is refused.
import type { KubeObject } from '../../../src/integrations/kubernetes/client';
import {
  CanaryObjectProblem,
  canaryObjects,
  checkStableSettled,
  checkStableService,
  containerImages,
} from '../../../src/rollouts/kubernetes/canary-objects';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const stable = (podLabels: Record<string, string> = { app: 'web', track: 'stable' }): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    labels: { app: 'web' },
    annotations: { 'deployment.kubernetes.io/revision': '3' },
    managedFields: [{ manager: 'kubectl' }],
  },
  spec: {
    replicas: 4,
    selector: { matchLabels: podLabels },
    strategy: { type: 'RollingUpdate' },
    template: {
      metadata: { labels: podLabels, creationTimestamp: null },
      spec: {
        containers: [
          { name: 'web', image: 'registry.example/shop-web:1.0', ports: [{ containerPort: 8080 }] },
          { name: 'sidecar', image: 'registry.example/proxy:2.0' },
        ],
      },
    },
  },
  status: { availableReplicas: 4 },
});

const service = (selector: Record<string, string> = { app: 'web', track: 'stable' }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', resourceVersion: '7' },
  spec: {
    selector,
    clusterIP: '10.96.0.10',
    clusterIPs: ['10.96.0.10'],
    type: 'ClusterIP',
    ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
  },
});

test('the canary is a copy of the stable Deployment with the new image, track: canary and its own size', () => {
  const { deployment, service: canaryService } = canaryObjects({
    stable: stable(),
    stableService: service(),
    deploymentName: 'web-canary',
    serviceName: 'web-canary',
    images: { web: 'registry.example/shop-web:1.1' },
    replicas: 1,
  });
  const d = deployment as Body;
  expect(d.metadata).toEqual({ name: 'web-canary', namespace: 'shop', labels: { app: 'web', 'opsflow.dev/canary-of': 'web' } });
  expect(d.spec.replicas).toBe(1);
  expect(d.spec.selector).toEqual({ matchLabels: { app: 'web', track: 'canary' } });
  expect(d.spec.template.metadata).toEqual({ labels: { app: 'web', track: 'canary' } });
  expect(d.spec.template.spec.containers.map((c: Body) => c.image)).toEqual([
    'registry.example/shop-web:1.1',
    'registry.example/proxy:2.0',
  ]);
  expect(d.spec.strategy).toEqual({ type: 'RollingUpdate' });
  expect(d.status).toBeUndefined();
  const s = canaryService as Body;
  expect(s.metadata).toEqual({ name: 'web-canary', namespace: 'shop', labels: { 'opsflow.dev/canary-of': 'web' } });
  expect(s.spec).toEqual({
    selector: { app: 'web', track: 'canary' },
    ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
  });
});

test('the stable Deployment is left as it was (the copy is a copy)', () => {
  const original = stable();
  canaryObjects({
    stable: original,
    stableService: service(),
    deploymentName: 'c',
    serviceName: 'c',
    images: { web: 'x/y:2' },
    replicas: 1,
  });
  expect(original.spec.template.spec.containers[0].image).toBe('registry.example/shop-web:1.0');
  expect(original.spec.template.metadata.labels).toEqual({ app: 'web', track: 'stable' });
});

test('a stable Service that would select the canary pods too is refused, saying what to add', () => {
  const problem = () => checkStableService(service({ app: 'web' }), stable({ app: 'web' }));
  expect(problem).toThrow(CanaryObjectProblem);
  expect(problem).toThrow(
    /Service shop\/web selects \{app: web\}, which the canary's pods would carry too .*add track: stable to its selector/,
  );
  expect(() => checkStableService(service(), stable())).not.toThrow();
  expect(() => checkStableService(service({ app: 'api', track: 'stable' }), stable())).toThrow(
    /does not select the pods of Deployment shop\/web/,
  );
});

test('images are given by container: a container the Deployment lacks is refused naming those it has', () => {
  expect(containerImages(stable(), ['web'])).toEqual({ web: 'registry.example/shop-web:1.0' });
  expect(() => containerImages(stable(), ['api'])).toThrow('Deployment shop/web has no container api (its containers: web, sidecar)');
});

test('a stable Deployment still rolling out (or stalled) is refused: it runs no one stable version', () => {
  const settled = {
    ...stable(),
    status: { observedGeneration: 3, replicas: 4, updatedReplicas: 4, readyReplicas: 4, availableReplicas: 4 },
  };
  expect(() => checkStableSettled(settled)).not.toThrow();
  const rolling = { ...settled, status: { ...settled.status, updatedReplicas: 2 } };
  expect(() => checkStableSettled(rolling)).toThrow(
    'Deployment shop/web is not rolled out (waiting for 2 of 4 replicas updated), so it runs no one stable version: nothing was changed; finish or undo its last change first',
  );
  const stalled = {
    ...rolling,
    status: {
      ...rolling.status,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "web-2" has timed out progressing.',
        },
      ],
    },
  };
  expect(() => checkStableSettled(stalled)).toThrow(
    /not rolled out \(ProgressDeadlineExceeded: ReplicaSet "web-2" has timed out progressing\.\)/,
  );
});
