// `opsflow rollout` for a canary on Kubernetes, for real: the CLI in this process against the dev
// server, on the stage of rollout-kubernetes.test (test/helpers/kube-canary-stage.ts: a DOKS
// cluster of the local cloud with its nginx ingress, a real Prometheus, load through the Gateway).
// A container the stable Deployment does not have is refused by the run at its start, naming it,
// with nothing changed; then `opsflow rollout stack-d --set web=image --spec file` follows the
// canary live, `opsflow rollout status` shows it waiting at 20% with the canary Deployment ready,
// `opsflow rollout promote` lets it go on, and the command ends with the stable Deployment on the
// new image and the canary removed, no request through the ingress lost.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import { captureCliOutput, opsflow, opsflowInto, pointCliAt } from '../../helpers/in-process-cli';
import { kubeRef, KUBE_ENVIRONMENT, startKubeCanaryStage, type KubeCanaryStage } from '../../helpers/kube-canary-stage';
import { until } from '../../helpers/until';

jest.setTimeout(15 * 60_000);
captureCliOutput();

let stage: KubeCanaryStage;
let specFile: string;

beforeAll(async () => {
  stage = await startKubeCanaryStage();
  pointCliAt(stage.env);
  specFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'opsflow-rollout-')), 'rollout-stack-d.yaml');
  writeFileSync(
    specFile,
    stringify(stage.spec([{ setWeight: 20 }, { pause: {} }, { analysis: { templates: ['errors'] } }, { setWeight: 100 }])),
  );
}, 20 * 60_000);

afterAll(async () => {
  await stage?.stop();
});

test('opsflow rollout <env> --set container=image --spec: a wrong container refused at the start, then followed live, steered by status and promote', async () => {
  const traffic = stage.load();
  const { refused, status, promoted, done, printed } = await stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
    const refused = await opsflow('rollout', KUBE_ENVIRONMENT, '--set', 'api=registry.example/shop-web:1.1', '--spec', specFile);
    const printed: string[] = [];
    const following = opsflowInto(printed, 'rollout', KUBE_ENVIRONMENT, '--set', 'web=registry.example/shop-web:1.1', '--spec', specFile);
    await until(
      'the CLI to show the rollout waiting at its pause',
      async () => (printed.join('').includes('‖ waiting for human') ? true : undefined),
      300_000,
    );
    await until('Prometheus to have the canary traffic', async () => ((await stage.measurable('1.1')) ? true : undefined), 120_000);
    const status = await opsflow('rollout', 'status', KUBE_ENVIRONMENT);
    const promoted = await opsflow('rollout', 'promote', KUBE_ENVIRONMENT);
    const done = await following;
    return { refused, status, promoted, done, printed };
  });
  const tally = await traffic.stop();
  expect(refused.error).toContain('Deployment shop/web has no container api (its containers: web); images are given by container name');
  expect(status.error).toBeUndefined();
  expect(status.out).toContain('  traffic: canary 20% / stable 80%');
  expect(status.out).toContain(
    '  kubernetes: canary Deployment shop/web-canary 1/1 ready (serving) · stable Deployment shop/web (serving)',
  );
  expect(status.out).toContain('(opsflow rollout promote stack-d, or abort stack-d)');
  expect(promoted.error).toBeUndefined();
  expect(promoted.out).toMatch(/promote/);
  expect(done.error).toBeUndefined();
  const out = printed.join('');
  expect(out).toContain('Rolling out web registry.example/shop-web:1.1 to stack-d: workflow rollout-stack-d');
  for (const line of [
    '    ⇄ traffic canary 20% / stable 80%\n',
    '    ⊕ canary Deployment shop/web-canary (1 replicas): serving\n',
    '    ⇄ traffic canary 100% / stable 0%\n',
    '    ⊕ stable Deployment shop/web: updated to the new images\n',
    'Rolled out to stack-d: web registry.example/shop-web:1.1 (was registry.example/shop-web:1.0)\n',
  ])
    expect(out).toContain(line);
  expect(out).toContain('removed: Deployment shop/web-canary, Service shop/web-canary');
  expect(await stage.image('web')).toBe('registry.example/shop-web:1.1');
  expect(await stage.client.get(kubeRef('Deployment', 'web-canary'))).toBeUndefined();
  expect(await stage.routeWeights()).toEqual([100, 0]);
  expect(tally.failures).toEqual([]);
  console.log(`CLI rollout: ${tally.done} requests through the ingress, none failed; by version ${JSON.stringify(tally.byBody)}`);
  // Nothing runs now: promote says so.
  expect((await opsflow('rollout', 'promote', KUBE_ENVIRONMENT)).error).toMatch(/rollout-stack-d/);
});
