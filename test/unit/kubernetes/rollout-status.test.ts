// Where a Deployment's rollout stands, from its status alone (as `kubectl rollout status` reads it).
import { rolloutState, selectorText, type DeploymentStatusView } from '../../../src/integrations/kubernetes/rollout-status';

const deployment = (generation: number, status: NonNullable<DeploymentStatusView['status']>, replicas = 3): DeploymentStatusView => ({
  metadata: { name: 'web', namespace: 'shop', generation },
  spec: { replicas },
  status,
});

test('not done until the controller has observed the latest generation, whatever the counts say', () => {
  const state = rolloutState(deployment(4, { observedGeneration: 3, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }));
  expect(state).toMatchObject({ state: 'progressing', waitingFor: 'the controller to observe generation 4 (it has seen 3)' });
});

test('waits for updated replicas, then old ones to go, then availability; done when all hold', () => {
  expect(rolloutState(deployment(2, { observedGeneration: 2, replicas: 4, updatedReplicas: 2, availableReplicas: 3 }))).toMatchObject({
    state: 'progressing',
    waitingFor: '2 of 3 replicas updated',
  });
  expect(rolloutState(deployment(2, { observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 3 }))).toMatchObject({
    state: 'progressing',
    waitingFor: '1 old replicas to terminate',
  });
  expect(rolloutState(deployment(2, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 2 }))).toMatchObject({
    state: 'progressing',
    waitingFor: '2 of 3 updated replicas available',
  });
  const done = rolloutState(
    deployment(2, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }),
  );
  expect(done).toEqual({
    state: 'done',
    progress: { generation: 2, observedGeneration: 2, desired: 3, total: 3, updated: 3, ready: 3, available: 3 },
  });
  // Scaled to zero: done once the pods are gone.
  expect(rolloutState(deployment(5, { observedGeneration: 5 }, 0)).state).toBe('done');
});

test('stalled when the controller reports the progress deadline exceeded', () => {
  const state = rolloutState(
    deployment(1, {
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      availableReplicas: 0,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "web-1" has timed out progressing.',
        },
      ],
    }),
  );
  expect(state).toMatchObject({
    state: 'stalled',
    reason: 'ProgressDeadlineExceeded',
    message: 'ReplicaSet "web-1" has timed out progressing.',
  });
});

test('label selectors as the API takes them; an unknown operator is refused', () => {
  expect(
    selectorText({
      matchLabels: { app: 'web', tier: 'front' },
      matchExpressions: [
        { key: 'track', operator: 'In', values: ['stable', 'canary'] },
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'zone', operator: 'Exists' },
        { key: 'env', operator: 'NotIn', values: ['dev'] },
      ],
    }),
  ).toBe('app=web,tier=front,track in (stable,canary),!legacy,zone,env notin (dev)');
  expect(() => selectorText({ matchExpressions: [{ key: 'a', operator: 'Gt' }] })).toThrow('operator Gt');
});
