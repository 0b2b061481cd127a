// The workers opsflow runs, wired as src/worker.ts wires them but to a test's local cloud: the
// DigitalOcean and Linode activities on their queues (both served by the same local cloud), and workflows with the SSH and health activities on a
// queue of the test's own. The deploy key is generated per test file and given by name only.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities, createCloudActivities, createLinodeActivities } from '../../src/activities';
import type { BackupDeps } from '../../src/activities/backups/backup-steps';
import { secretResolver } from '../../src/backups/secrets';
import { DigitalOceanClient } from '../../src/integrations/digitalocean/client';
import { type LocalCloud, generateEd25519 } from '@opsflow/localcloud';
import { DIGITALOCEAN_TASK_QUEUE, providerTaskQueue } from '../../src/temporal/task-queues';
import type { TestCodec } from './codec';
import { workflowBundlePath } from './temporal';

export interface OpsflowWorkers {
  /** The deploy key's private half, for tests that log in themselves. */
  deployKey: string;
  /** Secrets the workers resolve for `env:NAME` references. */
  secrets: Record<string, string>;
  /** Runs fn with a workflow worker on a fresh task queue. */
  withWorkflowWorker<T>(taskQueue: string, fn: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/** With `codec`, both workers encrypt payloads as a worker with OPSFLOW_CODEC_KEYS does. */
export async function startOpsflowWorkers(
  env: TestWorkflowEnvironment,
  cloud: LocalCloud,
  secrets: Record<string, string> = {},
  codec?: TestCodec,
  /** Spaces and the backup key for the cloud queue's cluster backups (default: this process's environment). */
  cloudBackups?: BackupDeps,
): Promise<OpsflowWorkers> {
  const pair = generateEd25519();
  const client = new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl });
  const cloudWorker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: DIGITALOCEAN_TASK_QUEUE,
    maxHeartbeatThrottleInterval: '1s', // as createCloudWorker: what a retry must know is sent at once
    dataConverter: codec?.dataConverter,
    activities: createCloudActivities({
      digitalOcean: () => client,
      pollMs: { first: 100, max: 400 },
      snapshotPollMs: { first: 100, max: 400 },
      sshPublicKey: () => pair.public,
      backups: cloudBackups,
    }),
  });
  const cloudWorkerDone = cloudWorker.run();
  const linodeWorker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: providerTaskQueue('linode'),
    maxHeartbeatThrottleInterval: '1s',
    dataConverter: codec?.dataConverter,
    activities: createLinodeActivities({
      account: () => ({ apiUrl: cloud.apiUrl, token: cloud.token }),
      pollMs: { first: 100, max: 400 },
      sshKeys: () => [{ name: 'deploy', publicKey: pair.public }],
    }),
  });
  const linodeWorkerDone = linodeWorker.run();
  const activities = createActivities({
    opsflowVersion: 'test',
    providers: [],
    ssh: {
      privateKey: () => pair.private,
      resolveSecret: async (ref) => {
        const value = ref.startsWith('env:') ? secrets[ref.slice(4)] : undefined;
        if (value === undefined) throw new Error(`no test secret for ${ref}`);
        return value;
      },
      retryBackoffMs: { first: 200, max: 1000 },
      heartbeatIntervalMs: 1000,
    },
  });
  return {
    deployKey: pair.private,
    secrets,
    async withWorkflowWorker(taskQueue, fn) {
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: { codePath: codec?.workflowBundlePath ?? workflowBundlePath() },
        activities,
        dataConverter: codec?.dataConverter,
      });
      return worker.runUntil(fn());
    },
    async stop() {
      cloudWorker.shutdown();
      linodeWorker.shutdown();
      await Promise.all([cloudWorkerDone, linodeWorkerDone]);
    },
  };
}

/** A workflow worker's own activities as src/worker.ts makes them: SSH steps with the test's deploy key, secrets from `secrets`. */
export function workflowWorkerActivities(workers: Pick<OpsflowWorkers, 'deployKey'>, secrets: Record<string, string>) {
  return createActivities({
    opsflowVersion: 'test',
    providers: [],
    ssh: {
      privateKey: () => workers.deployKey,
      resolveSecret: secretResolver(secrets),
      retryBackoffMs: { first: 200, max: 1000 },
      heartbeatIntervalMs: 1000,
    },
  });
}
