// The stack rollout tests run on (stack B's shape, in the local cloud): two droplets run the
// simulated `shop` application with compose, Debian's real nginx in the first splits traffic by
// the upstream file the workflows write, a real Prometheus scrapes both every second, and the
// load generator sends requests through nginx. Also the history readers the rollout tests count
// with (activities, update events, the switch time by the history's clock).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import { buildDeployInput } from '../../src/client/deploy';
import { connect, type SshConnection } from '../../src/integrations/ssh';
import { generateLoad, type LoadTally } from '../../src/rollouts/load-generator';
import { weightsInUpstream } from '../../src/rollouts/traffic/nginx-config';
import { loadEnvironmentSpec } from '../../src/specs/load';
import type { EnvironmentSpec } from '../../src/specs/environment';
import type { RolloutSpecInput } from '../../src/specs/rollout';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import type { ProvisionResult } from '../../src/workflows/environment/provision-environment';
import { rolloutWorkflowId, type RolloutReleaseInput } from '../../src/workflows/release/rollout-api';
import { startPrometheus, type PrometheusInstance } from '../rollouts/helpers/prometheus-instance';
import { startLocalCloud } from './localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from './opsflow-workers';
import { tempDir } from './temp';
import { startTemporal } from './temporal';
import { until } from './until';

export const APP_PORT = 8080;
export const UPSTREAM_FILE = '/etc/nginx/opsflow/shop.conf';

/**
 * What the error-ratio analysis measures: the new version's 5xx share over the last 5 s, only while
 * it serves more than one request a second (the health gate's few probes are not traffic: no data).
 */
export const ERROR_RATIO =
  '(sum(rate(http_requests_total{version="{{args.canary-version}}",code=~"5.."}[5s])) or vector(0))' +
  ' / (sum(rate(http_requests_total{version="{{args.canary-version}}"}[5s])) > 1)';

/** The `errors` analysis template: 3 measurements 1 s apart after 3 s, under 1% errors. */
export const ERRORS_TEMPLATE = {
  metrics: [
    {
      name: 'error-ratio',
      query: ERROR_RATIO,
      interval: '1s',
      count: 3,
      initialDelay: '3s',
      successCondition: 'result < 0.01',
      inconclusiveLimit: 2,
    },
  ],
};

export interface RolloutStack {
  env: TestWorkflowEnvironment;
  cloud: LocalCloud;
  workers: OpsflowWorkers;
  provisioned: ProvisionResult;
  spec: EnvironmentSpec;
  prometheus: PrometheusInstance;
  /** SSH to app-1, where nginx runs. */
  front: SshConnection;
  host(instance: string): ProvisionResult['hosts'][number];
  ok(connection: SshConnection, script: string, args?: string[]): Promise<string>;
  /** The version app-N's application answers with, asked directly (not through nginx). */
  versionOn(instance: string): Promise<string>;
  /** The split nginx's upstream file records. */
  nginxWeights(): Promise<ReturnType<typeof weightsInUpstream>>;
  nginxUpstream(): Promise<string>;
  /** Sends requests to `url` (default: through nginx) until `stop()`; the tally counts answers by version. */
  load(url?: string): { stop: () => Promise<LoadTally> };
  rolloutInput(tag: string, rollout: RolloutSpecInput): RolloutReleaseInput;
  startRollout(tag: string, rollout: RolloutSpecInput): Promise<WorkflowHandleWithFirstExecutionRunId>;
  withWorker<T>(fn: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/** Two droplets with the shop application (compose) and Debian's nginx; app-1 is also nginx's front host. */
function environmentSpec(environment: string): EnvironmentSpec {
  const dir = tempDir(`${environment}-env`);
  writeFileSync(
    path.join(dir, 'compose.yaml'),
    `services:\n  shop:\n    image: \${SHOP_IMAGE:-ghcr.io/acme/shop:1.0}\n    ports: ["${APP_PORT}:80"]\n`,
  );
  writeFileSync(
    path.join(dir, 'env.yaml'),
    [
      `name: ${environment}`,
      'region: fra1',
      'firewall:',
      '  inbound:',
      '    - { protocol: tcp, ports: "22" }',
      '    - { protocol: tcp, ports: "80" }',
      `    - { protocol: tcp, ports: "${APP_PORT}" }`,
      'droplets:',
      '  - { name: app, count: 2, size: s-1vcpu-1gb, image: ubuntu-22-04-x64 }',
      'ssh: { user: root, key: deploy }',
      'bootstrap:',
      '  packages: [docker.io, docker-compose-plugin]',
      '  directories: [{ path: /opt/shop }]',
      'application:',
      '  directory: /opt/shop',
      '  composeFile: compose.yaml',
      '  images: { shop: ghcr.io/acme/shop:1.0 }',
      `healthChecks: [{ name: shop, port: ${APP_PORT}, path: /health, intervalSeconds: 1, attempts: 5 }]`,
      'onFailure: rollback',
      '',
    ].join('\n'),
  );
  return loadEnvironmentSpec(path.join(dir, 'env.yaml'));
}

async function ok(connection: SshConnection, script: string, args: string[] = []): Promise<string> {
  const result = await connection.execScript(script, args, { timeoutMs: 120_000 });
  if (result.exitCode !== 0) throw new Error(`\`${script}\` exited ${result.exitCode}: ${result.stdoutTail}${result.stderrTail}`);
  return result.stdoutTail;
}

/** Provisions the environment, installs nginx in front of app-1 only, starts Prometheus. */
export async function startRolloutStack(environment: string): Promise<RolloutStack> {
  const env = await startTemporal();
  const { cloud } = await startLocalCloud({
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
    timing: { dropletCreateMs: 1500, actionMs: 150 },
  });
  const workers = await startOpsflowWorkers(env, cloud);
  const withWorker = <T>(fn: () => Promise<T>) => workers.withWorkflowWorker(TASK_QUEUE, fn);
  const spec = environmentSpec(environment);
  const provisioned: ProvisionResult = await withWorker(() =>
    env.client.workflow.execute('provisionEnvironment', {
      taskQueue: TASK_QUEUE,
      workflowId: `provision-${environment}`,
      args: [{ spec }],
    }),
  );
  const host = (instance: string) => provisioned.hosts.find((h) => h.instance === instance)!;
  // Stack B's shape: nginx on the first droplet in front of both, its site proxying to the upstream
  // the rollout writes (Debian's nginx.conf includes /etc/nginx/opsflow/*.conf).
  const first = host('app-1');
  const front = await connect({
    host: first.address,
    port: provisioned.ssh.port,
    username: 'root',
    privateKey: workers.deployKey,
    hostKey: { pinned: [first.hostKey] },
  });
  await ok(front, 'apt-get install -y nginx-light');
  await front.putFile(
    '/etc/nginx/sites-available/shop',
    `server {\n\tlisten ${first.address}:80 default_server;\n\tlocation / { proxy_pass http://shop; proxy_next_upstream off; }\n}\n`,
  );
  await ok(front, 'rm -f /etc/nginx/sites-enabled/default && ln -sf /etc/nginx/sites-available/shop /etc/nginx/sites-enabled/shop');
  await ok(
    front,
    'printf "upstream shop {\\n    server %s:%s;\\n}\\n" "$1" "$2" > /etc/nginx/opsflow/shop.conf && nginx -t && if systemctl is-active nginx >/dev/null; then systemctl reload nginx; else systemctl start nginx; fi',
    [first.address, String(APP_PORT)],
  );
  // The reload is a signal: wait until nginx takes a configuration test again before the rollouts start.
  await until(
    'nginx -t to pass after the reload',
    async () => ((await front.execScript('nginx -t -q', [], { timeoutMs: 30_000 })).exitCode === 0 ? true : undefined),
    60_000,
  );
  const prometheus = await startPrometheus(provisioned.hosts.map((h) => `${h.address}:${APP_PORT}`));
  const nginxUpstream = () => ok(front, 'cat "$1"', [UPSTREAM_FILE]);
  const rolloutInput = (tag: string, rollout: RolloutSpecInput) =>
    ({
      ...buildDeployInput({ result: provisioned, spec }, { shop: tag }),
      spec: rollout,
      requestedBy: 'jest',
    }) as RolloutReleaseInput;

  return {
    env,
    cloud,
    workers,
    provisioned,
    spec,
    prometheus,
    front,
    host,
    ok,
    versionOn: async (instance) => (await (await fetch(`http://${host(instance).address}:${APP_PORT}/version`)).text()).trim(),
    nginxUpstream,
    nginxWeights: async () => weightsInUpstream(await nginxUpstream()),
    load: (url = `http://${host('app-1').address}/version`) => {
      let enough = false;
      const running = generateLoad(url, { total: 1_000_000, deadlineMs: 540_000, enough: () => enough });
      return {
        stop: async () => {
          enough = true;
          return running;
        },
      };
    },
    rolloutInput,
    startRollout: (tag, rollout) =>
      env.client.workflow.start('rolloutRelease', {
        taskQueue: TASK_QUEUE,
        workflowId: rolloutWorkflowId(environment),
        args: [rolloutInput(tag, rollout)],
      }),
    withWorker,
    stop: async () => {
      front.close();
      await prometheus.stop();
      await workers.stop();
      await cloud.stop();
      await env.teardown();
    },
  };
}

export async function history(handle: WorkflowHandle) {
  return (await handle.fetchHistory()).events ?? [];
}

/** Activities of this type scheduled in the run's history. */
export async function activities(handle: WorkflowHandle, name: string): Promise<number> {
  return (await history(handle)).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name).length;
}

export async function updateEvents(handle: WorkflowHandle): Promise<number> {
  return (await history(handle)).filter(
    (e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.workflowExecutionUpdateCompletedEventAttributes,
  ).length;
}

const eventMs = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) =>
  Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);

/** From the last measurement's completion to the completion of the next traffic change, by the history's own clock. */
export async function msToStable(handle: WorkflowHandle): Promise<number> {
  const events = await history(handle);
  const scheduled = new Map<string, string>();
  let failedAt: number | undefined;
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) scheduled.set(String(e.eventId), name);
    const done = e.activityTaskCompletedEventAttributes;
    if (!done) continue;
    const kind = scheduled.get(String(done.scheduledEventId));
    if (kind === 'measureMetric') failedAt = eventMs(e);
    if (kind === 'setNginxWeights' && failedAt !== undefined) return eventMs(e) - failedAt;
  }
  throw new Error('no traffic change after a measurement');
}

/** Runs fn while the load runs; the load stops whatever fn does (a load left running would feed the next test's rollout). */
export async function withLoad<T>(load: { stop: () => Promise<LoadTally> }, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    await load.stop();
    throw err;
  }
}

/** The validator's words for a refused update. */
export async function refusal(update: Promise<unknown>): Promise<string> {
  const err = await update.then(
    () => undefined,
    (e: unknown) => e as Error & { cause?: Error },
  );
  if (!err) throw new Error('the update was accepted');
  return err.cause?.message ?? err.message;
}
