// What an operator reads when Kubernetes refuses or a rollout stalls: the object and the fields the
// API server rejected, the pods' and events' reasons; and the failure types activities end with.
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../../src/activities/kubernetes/failures';
import { KubernetesRequestError, rejectedFields } from '../../../src/integrations/kubernetes/errors';
import { ManifestProblem } from '../../../src/integrations/kubernetes/manifests';
import { eventView, explainStall, newestFirst, podView } from '../../../src/integrations/kubernetes/pod-views';

const web = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' };

test('a 422 names the object and every field in its causes', () => {
  const status = {
    kind: 'Status',
    code: 422,
    reason: 'Invalid',
    message: 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    details: {
      name: 'web',
      kind: 'deployments',
      causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: -1', field: 'spec.replicas' }],
    },
  };
  const err = new KubernetesRequestError(422, status).about(web, 'apply');
  expect(err.message).toBe(
    'apply Deployment shop/web rejected by the API server (field spec.replicas): 422 Invalid: Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
  );
  expect(err.fields).toEqual(['spec.replicas']);
  expect(err.retryable).toBe(false);
});

test("server-side apply's strict validation names an unknown field in its message only: it is found there", () => {
  const message = 'failed to create typed patch object (shop/web; apps/v1, Kind=Deployment): .spec.replicaz: field not declared in schema';
  expect(rejectedFields({ code: 400, reason: 'BadRequest', message })).toEqual(['spec.replicaz']);
  // Kubernetes 1.34 answers it with 500 and no reason: still a refusal, final, naming the field.
  const err = new KubernetesRequestError(500, { code: 500, message }).about(web, 'validate');
  expect(err.message).toBe(`validate Deployment shop/web rejected by the API server (field spec.replicaz): 500: ${message}`);
  expect(err.retryable).toBe(false);
  expect(toActivityFailure(err)).toMatchObject({ type: 'KubernetesRejected', nonRetryable: true });
  expect(rejectedFields({ message: 'strict decoding error: unknown field "spec.template.spec.containerz"' })).toEqual([
    'spec.template.spec.containerz',
  ]);
});

test('failure types: refused is final, busy or silent is retryable, conflicts and missing objects are named', () => {
  const asFailure = (status: number, reason: string, message = 'x') =>
    toActivityFailure(new KubernetesRequestError(status, { reason, message }).about(web, 'apply')) as ApplicationFailure;
  expect(asFailure(422, 'Invalid')).toMatchObject({ type: 'KubernetesRejected', nonRetryable: true });
  expect(asFailure(409, 'Conflict', 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas')).toMatchObject({
    type: 'KubernetesFieldConflict',
    nonRetryable: true,
  });
  expect(asFailure(404, 'NotFound')).toMatchObject({ type: 'KubernetesNotFound', nonRetryable: true });
  expect(asFailure(503, 'ServiceUnavailable')).toMatchObject({ type: 'KubernetesUnavailable', nonRetryable: false });
  expect(asFailure(0, '')).toMatchObject({ type: 'KubernetesUnavailable', nonRetryable: false });
  expect(asFailure(422, 'Invalid').details).toEqual([{ object: web, fields: [], status: 422, reason: 'Invalid' }]);
  expect(toActivityFailure(new ManifestProblem('manifest 1: kind is missing'))).toMatchObject({
    type: 'InvalidManifest',
    nonRetryable: true,
  });
});

test("a pod's reasons: unscheduled, waiting containers, failed exits; events newest first, warnings before", () => {
  const pending = podView({
    metadata: { name: 'web-1' },
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }],
    },
  });
  expect(pending).toEqual({
    name: 'web-1',
    phase: 'Pending',
    ready: false,
    restarts: 0,
    reasons: ['PodScheduled Unschedulable: 0/3 nodes are available'],
  });
  const crashing = podView({
    metadata: { name: 'web-2' },
    spec: { nodeName: 'pool-a-1' },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
      containerStatuses: [
        {
          name: 'app',
          restartCount: 4,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { reason: 'Error', exitCode: 2 } },
        },
      ],
    },
  });
  expect(crashing).toMatchObject({
    node: 'pool-a-1',
    restarts: 4,
    reasons: ['Ready ContainersNotReady', 'container app CrashLoopBackOff', 'container app Error (exit 2)'],
  });

  const events = newestFirst([
    eventView({
      type: 'Normal',
      reason: 'Scheduled',
      message: 'ok',
      involvedObject: { kind: 'Pod', name: 'web-2' },
      lastTimestamp: '2026-12-02T10:00:00Z',
    }),
    eventView({
      type: 'Warning',
      reason: 'FailedScheduling',
      message: '0/3 nodes are available',
      involvedObject: { kind: 'Pod', name: 'web-1' },
      count: 3,
      lastTimestamp: '2026-12-02T10:00:05Z',
    }),
  ]);
  expect(events.map((e) => e.reason)).toEqual(['FailedScheduling', 'Scheduled']);
  expect(explainStall([pending, crashing], events)).toBe(
    'pods not ready: web-1 Pending (PodScheduled Unschedulable: 0/3 nodes are available); web-2 Running on pool-a-1 (Ready ContainersNotReady; container app CrashLoopBackOff; container app Error (exit 2)). ' +
      'warning events: FailedScheduling on Pod web-1 (x3): 0/3 nodes are available',
  );
});
