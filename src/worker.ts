// The opsflow worker: runs src/workflows (decide) and src/activities (do) on the `opsflow` task queue.
// Connection settings come from Temporal's environment configuration; see src/temporal/connection.ts.
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { DataConverter, Logger } from '@temporalio/common';
import { createActivities, createCloudActivities, createLinodeActivities } from './activities';
import { backupDepsFromEnv } from './activities/backups/backup-steps';
import { secretResolver } from './backups/secrets';
import { digitalOceanClientFactory } from './integrations/digitalocean/account';
import { linodeAccountOfEnv } from './activities/linode/deps';
import { configuredProviders } from './providers/configured';
import type { ProviderId } from './providers/cloud-provider';
import { JsonLogger } from './logging';
import { parseWorkerEnvironment } from './specs/worker-environment';
import { describeTarget, loadTemporalTarget, TemporalUnreachableError } from './temporal/connection';
import { dataConverterFromEnv, requireCodecBundle } from './temporal/codec/data-converter';
import { PROVIDER_ACTIVITIES_PER_SECOND, providerTaskQueue, TASK_QUEUE } from './temporal/task-queues';
import { configuredSshKeys, publicKeyOf, readPrivateKey } from './ssh-keys';
import { OPSFLOW_VERSION } from './version';

export interface OpsWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue?: string;
  /** A prebuilt bundle (tests, Docker images); otherwise the workflows are bundled at start. */
  workflowBundlePath?: string;
  activities: object;
  /** How long running activities get to finish on shutdown before they are cancelled. */
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /** The payload codec and failure converter (src/temporal/codec) when payloads are encrypted. */
  dataConverter?: DataConverter;
}

export function createOpsWorker(options: OpsWorkerOptions): Promise<Worker> {
  const workflows = options.workflowBundlePath
    ? { workflowBundle: { codePath: options.workflowBundlePath } }
    : { workflowsPath: require.resolve('./workflows') };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    ...workflows,
    activities: options.activities,
    shutdownGraceTime: options.shutdownGraceTime ?? '20s',
    dataConverter: options.dataConverter,
  });
}

/** The worker for one provider's activities: its own queue, no workflows, and the server-side rate limit. */
export function createCloudWorker(
  options: Pick<OpsWorkerOptions, 'connection' | 'namespace' | 'activities' | 'shutdownGraceTime' | 'dataConverter'> & {
    provider?: ProviderId;
  },
): Promise<Worker> {
  const provider = options.provider ?? 'digitalocean';
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: providerTaskQueue(provider),
    activities: options.activities,
    maxTaskQueueActivitiesPerSecond: PROVIDER_ACTIVITIES_PER_SECOND[provider],
    // A heartbeat may carry what a retry must know (rememberForRetry): sent within a second, not 16 s.
    maxHeartbeatThrottleInterval: '1s',
    shutdownGraceTime: options.shutdownGraceTime ?? '20s',
    dataConverter: options.dataConverter,
  });
}

/** Installs the SDK runtime once: structured logs and a Prometheus endpoint of its own. */
export function installRuntime(logger: Logger, metricsAddress: string | undefined): void {
  Runtime.install({
    logger,
    telemetryOptions: {
      logging: { forward: {}, filter: 'WARN' },
      ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress } } } : {}),
    },
  });
}

export async function runWorkerFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = parseWorkerEnvironment(env);
  const logger = new JsonLogger(settings.OPSFLOW_LOG_LEVEL);
  const metricsAddress = settings.OPSFLOW_METRICS_ADDRESS === 'off' ? undefined : settings.OPSFLOW_METRICS_ADDRESS;
  const target = loadTemporalTarget(env);
  // Refuses to start against a production Temporal without an encryption key, before anything starts.
  const dataConverter = dataConverterFromEnv(env, target.connectionOptions.address);
  if (dataConverter && settings.OPSFLOW_WORKFLOW_BUNDLE) requireCodecBundle(settings.OPSFLOW_WORKFLOW_BUNDLE);
  installRuntime(logger, metricsAddress);

  if (target.note) logger.warn(target.note);
  // Named address and how to change it, instead of the SDK's bare "Failed to connect before the deadline".
  const connection = await NativeConnection.connect(target.connectionOptions).catch((err: unknown) => {
    throw new TemporalUnreachableError(target, err);
  });
  try {
    const worker = await createOpsWorker({
      connection,
      namespace: target.namespace,
      workflowBundlePath: settings.OPSFLOW_WORKFLOW_BUNDLE,
      dataConverter,
      activities: createActivities({
        opsflowVersion: OPSFLOW_VERSION,
        providers: configuredProviders(env),
        backups: backupDepsFromEnv(env),
        // Keys and secrets are read from their files at each use, never held in workflow history.
        ssh: { privateKey: (name) => readPrivateKey(name ?? 'deploy', env), resolveSecret: secretResolver(env) },
        // The secrets preflight resolves from the same environment the deploy step does.
        secrets: { env: () => env },
      }),
    });
    const cloudWorker = await createCloudWorker({
      connection,
      namespace: target.namespace,
      dataConverter,
      provider: 'digitalocean',
      activities: createCloudActivities({
        digitalOcean: digitalOceanClientFactory(env),
        sshPublicKey: (name) => publicKeyOf(name, env),
        backups: backupDepsFromEnv(env),
      }),
    });
    // Served whether or not LINODE_TOKEN is set: a `cloud: linode` run then fails at its first step
    // saying what to set, instead of waiting for ever on a queue nobody polls.
    const linodeWorker = await createCloudWorker({
      connection,
      namespace: target.namespace,
      dataConverter,
      provider: 'linode',
      activities: createLinodeActivities({
        account: linodeAccountOfEnv(env),
        sshKeys: () => configuredSshKeys(env).map((k) => ({ name: k.name, publicKey: publicKeyOf(k.name, env) })),
      }),
    });
    logger.info('worker started', {
      temporal: describeTarget(target),
      taskQueues: [TASK_QUEUE, providerTaskQueue('digitalocean'), providerTaskQueue('linode')],
      metrics: metricsAddress ? `http://${metricsAddress}/metrics` : 'off',
      payloadEncryption: dataConverter ? 'on' : 'off',
    });
    // All resolve after SIGINT or SIGTERM once running activities finished or were cancelled.
    await Promise.all([worker.run(), cloudWorker.run(), linodeWorker.run()]);
    logger.info('worker stopped');
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  runWorkerFromEnv().catch((err: unknown) => {
    process.stderr.write(`opsflow worker failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
