// `opsflow up` (`npm start`): the whole local stack in one command. Starts the Temporal dev server
// with its Web UI, the local cloud and the worker, runs a first workflow to prove the stack works,
// provisions stack A on the local cloud, and stops everything cleanly on Ctrl-C. Started twice, it
// finds the running stack instead of fighting it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { ensurePrivateDir, ensureStateDir, openPrivateLog, PROJECT_ROOT } from '../paths';
import { formatProvisionResult } from '../client/format-status';
import { followProgress } from '../client/progress';
import { provisionWorkflowId } from '../names/workflow-ids';
import { loadEnvironmentSpec } from '../specs/load';
import type { ProvisionResult } from '../workflows/environment/provision-environment';
import { TASK_QUEUE } from '../temporal/task-queues';
import { connectClient, runCheckWorker, startOperation, workerPollerCount } from '../client/opsflow-client';
import { spawnDevServer, temporalServerVersion, waitForTemporal } from './dev-server';
import { isPortInUse } from './ports';
import { startLocalStackPrometheus } from './prometheus';
import { resolveTemporalCli } from './temporal-cli';
import { lookUpRecordedStack, recordStack, recordedStackFile } from './recorded-stack';
import { loadTemporalTarget } from '../temporal/connection';
import type { LocalCloudEndpoint } from '@opsflow/localcloud';
import { generateEd25519 } from './ed25519';
import { explainMissingLocalCloud, localCloudDir } from './localcloud-loading';
import { DEFAULT_SECRET_ENV, envSecretRefusal, secretAccessFromEnv } from '../secret-access';
import { configuredSshKeys } from '../ssh-keys';
import { BACKUP_KEY_ENV, BACKUP_KEY_FILE_ENV, ensureBackupKeyFile } from '../backups/backup-key';

const DEMO_SPEC = path.join(PROJECT_ROOT, 'examples', 'stack-a.yaml');
/** The secret stack A's spec names (`env:STACK_A_POSTGRES_PASSWORD`). */
const DEMO_SECRET = 'STACK_A_POSTGRES_PASSWORD';

export interface UpOptions {
  /** Provision examples/stack-a.yaml on the local cloud once the stack is up. */
  demo: boolean;
  ip: string;
  port: number;
  uiPort: number;
  metricsPort: number;
  localcloudPort: number;
  env?: NodeJS.ProcessEnv;
  say?: (line: string) => void;
}

export async function up(options: UpOptions): Promise<number> {
  const env = options.env ?? process.env;
  const say = options.say ?? ((line: string) => process.stdout.write(line + '\n'));
  const dir = ensureStateDir(env);
  const stackFile = recordedStackFile(env);
  const address = `${options.ip}:${options.port}`;
  const uiUrl = `http://${options.ip}:${options.uiPort}`;
  const metricsUrl = `http://127.0.0.1:${options.metricsPort}/metrics`;

  const recorded = lookUpRecordedStack(env);
  if (recorded.state === 'running') {
    const running = recorded.stack;
    say(`opsflow stack already running (pid ${running.pid}, since ${running.startedAt}).`);
    say(
      `  Temporal: ${running.address}   Web UI: ${running.uiUrl}${running.localcloudUrl ? `   local cloud: ${running.localcloudUrl}` : ''}`,
    );
    say('  Stop it with Ctrl-C in its terminal, or `kill -INT ' + running.pid + '`.');
    return 0;
  }
  if (recorded.state === 'stale') say(`Note: ${recorded.note}; this start replaces it.`);

  const children: { name: string; process: ChildProcess }[] = [];
  // Safety net: children live in their own process groups, so never leave them behind on exit.
  process.once('exit', () => children.forEach((c) => c.process.exitCode === null && c.process.kill('SIGTERM')));
  let stopping = false;
  const stop = async (code: number): Promise<number> => {
    stopping = true;
    for (const child of children.reverse()) await stopChild(child.name, child.process, say);
    rmSync(stackFile, { force: true });
    return code;
  };

  try {
    if (await isPortInUse(options.ip, options.port)) {
      const version = await temporalServerVersion(address).catch(() => undefined);
      if (!version)
        throw new Error(`port ${options.port} on ${options.ip} is in use by something that is not Temporal; stop it or pass --port`);
      say(`Using the Temporal server already running at ${address} (server ${version}).`);
    } else {
      for (const port of [options.uiPort]) {
        if (await isPortInUse(options.ip, port))
          throw new Error(`port ${port} on ${options.ip} is in use; stop what holds it or pass --ui-port`);
      }
      const cliPath = await resolveTemporalCli();
      say(`Starting the Temporal dev server (${cliPath})...`);
      const server = spawnDevServer({
        cliPath,
        ip: options.ip,
        port: options.port,
        uiPort: options.uiPort,
        dbFile: path.join(dir, 'temporal.db'),
        logFile: path.join(dir, 'temporal.log'),
      });
      children.push({ name: 'Temporal dev server', process: server });
      const version = await waitForTemporal(address, 60_000);
      say(`Temporal ${version} is up at ${address}; history is kept in ${path.join(dir, 'temporal.db')}.`);
    }

    /** Port the local cloud's droplets answer SSH on, when this run started it. */
    let sshPort: number | undefined;
    /** Recorded for the other commands; undefined when workflows act on a real account. */
    let localcloudUrl: string | undefined;
    /** What the worker is told to reach the local cloud by, as it would any DigitalOcean endpoint. */
    let cloudEnv: NodeJS.ProcessEnv = {};
    if (env.DIGITALOCEAN_TOKEN) {
      say(
        `DIGITALOCEAN_TOKEN is set: workflows act on the real DigitalOcean account (${env.DIGITALOCEAN_API_URL ?? 'https://api.digitalocean.com'}).`,
      );
    } else {
      // Loaded only here: with a DigitalOcean token, `opsflow up` never loads the local cloud.
      const localcloud = await explainMissingLocalCloud(import('@opsflow/localcloud'));
      const cloudDir = localCloudDir(env);
      const existing = localcloud.readEndpoint(cloudDir);
      if (existing) {
        say(`Using the local cloud already running at ${existing.apiUrl}.`);
        localcloudUrl = existing.apiUrl;
        cloudEnv = { DIGITALOCEAN_API_URL: existing.apiUrl, DIGITALOCEAN_TOKEN: existing.token, ...linodeOnLocalCloud(env, existing) };
      } else {
        try {
          localcloud.resolveBwrap();
        } catch {
          throw new Error(
            'bubblewrap (bwrap) is missing, and the local cloud runs its droplets in it: run `bash scripts/host-packages.sh` (as root; it installs only what is missing), then start again',
          );
        }
        // Built once per machine (minutes the first time); done here so its progress shows.
        await localcloud.resolveS3ServerBinary();
        // Chosen here and given explicitly, so the demo spec can be told the same port.
        sshPort = await localcloud.dropletSshPort(hostNetwork(env));
        const cloud = spawnCli(
          env,
          ['localcloud', 'start', '--port', String(options.localcloudPort), '--ssh-port', String(sshPort)],
          path.join(dir, 'localcloud.log'),
        );
        children.push({ name: 'local cloud', process: cloud });
        const endpoint = await waitForEndpoint(() => localcloud.readEndpoint(cloudDir), cloud, 60_000);
        cloudEnv = { DIGITALOCEAN_API_URL: endpoint.apiUrl, DIGITALOCEAN_TOKEN: endpoint.token, ...linodeOnLocalCloud(env, endpoint) };
        localcloudUrl = endpoint.apiUrl;
        say(`Local cloud (DigitalOcean API) is up at ${endpoint.apiUrl}; its token is in ${path.join(dir, 'localcloud', 'token')}.`);
        say(
          `  Its droplets answer SSH on port ${sshPort}${sshPort === 22 ? '' : ' (port 22 cannot be bound here)'}, each on its own 127.x address.`,
        );
        // Another local stack may hold the default network: this one took its own, and says which.
        if (endpoint.hostNetwork)
          say(
            `  Host network ${localcloud.describeHostNetwork({ ...endpoint.hostNetwork, file: localcloud.rememberedNetworkFile(cloudDir) })}.`,
          );
        if (endpoint.spaces)
          say(
            `Spaces (S3) for backups is at ${endpoint.spaces.endpoint}; its keys are in ${path.join(dir, 'localcloud', 'spaces-keys.json')}.`,
          );
      }
    }

    // The local stack's Prometheus, for rollouts' analysis: droplets' applications become its targets.
    const prometheus = localcloudUrl ? await startLocalStackPrometheus(dir, say) : undefined;
    if (prometheus) children.push({ name: 'Prometheus', process: prometheus.process });

    const clientEnv = { ...env, TEMPORAL_ADDRESS: address };
    const { client, connection } = await connectClient(clientEnv);
    try {
      let deployKey: string | undefined;
      if ((await workerPollerCount(client, TASK_QUEUE)) > 0) {
        say(`A worker is already polling task queue ${TASK_QUEUE}; not starting another.`);
      } else {
        const secrets = workerSecrets(env, dir, say);
        deployKey = secrets.deployKey;
        const worker = spawnWorker({ ...clientEnv, ...secrets.env, ...cloudEnv }, options, path.join(dir, 'worker.log'));
        children.push({ name: 'worker', process: worker });
        say(`Worker started (pid ${worker.pid}); logs in ${path.join(dir, 'worker.log')}.`);
      }
      // Every other command (status, provision, doctor, a hand-started worker) finds the stack here.
      const localcloudTokenFile = localcloudUrl ? path.join(localCloudDir(env), 'token') : undefined;
      recordStack(
        {
          pid: process.pid,
          address,
          uiUrl,
          metricsUrl,
          localcloudUrl,
          localcloudTokenFile,
          prometheusUrl: prometheus?.address,
          prometheusTargetsFile: prometheus?.targetsFile,
          startedAt: new Date().toISOString(),
        },
        env,
      );

      const check = await runCheckWorker(client, 60_000);
      say(`First workflow ${check.workflowId} completed on worker ${check.result.hostname} (pid ${check.result.pid}).`);
      if (options.demo && !env.DIGITALOCEAN_TOKEN)
        await provisionDemo(
          client,
          {
            address,
            uiUrl,
            sshPort: sshPort ?? (await (await explainMissingLocalCloud(import('@opsflow/localcloud'))).dropletSshPort(hostNetwork(env))),
            deployKey,
          },
          say,
        );
    } finally {
      await connection.close();
    }

    say('');
    say(`opsflow is running.  Web UI: ${uiUrl}/namespaces/default/workflows`);
    say(`  Start a workflow:  temporal workflow start --address ${address} --task-queue ${TASK_QUEUE} --type checkWorker`);
    say(`  Watch it:          temporal workflow list --address ${address}`);
    // Plain `doctor` finds this stack through its record unless TEMPORAL_ADDRESS or a profile say otherwise.
    const doctorFindsIt = loadTemporalTarget(env).connectionOptions.address === address;
    // The CLI learns the local cloud as the worker does: from DIGITALOCEAN_API_URL and DIGITALOCEAN_TOKEN,
    // else from the stack's record (recordedLocalCloudEnv), which is used only when neither is set.
    const cloudVars =
      localcloudUrl && env.DIGITALOCEAN_API_URL
        ? `DIGITALOCEAN_API_URL=${localcloudUrl} DIGITALOCEAN_TOKEN=$(cat ${path.join(localCloudDir(env), 'token')}) `
        : '';
    say(`  Diagnose:          ${doctorFindsIt ? '' : `TEMPORAL_ADDRESS=${address} `}${cloudVars}npx opsflow doctor`);
    say(`  Worker metrics:    ${metricsUrl}`);
    say('Press Ctrl-C to stop everything.');
  } catch (err) {
    say(`opsflow up failed: ${err instanceof Error ? err.message : String(err)}`);
    return stop(1);
  }

  return new Promise<number>((resolve) => {
    const onSignal = () => {
      if (stopping) return;
      say('\nStopping...');
      void stop(0).then(resolve);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    for (const child of children) {
      child.process.once('exit', (code, signal) => {
        if (stopping) return;
        say(`${child.name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the rest.`);
        void stop(1).then(resolve);
      });
    }
  });
}

/** The demo: stack A on the local cloud (never on a real account), shown step by step. */
async function provisionDemo(
  client: Client,
  where: { address: string; uiUrl: string; sshPort: number; deployKey?: string },
  say: (line: string) => void,
): Promise<void> {
  const spec = loadEnvironmentSpec(DEMO_SPEC);
  // The spec says 22; where the local cloud had to use another port, the demo follows it.
  spec.ssh.port = where.sshPort;
  say(`Provisioning the demo environment ${path.relative(process.cwd(), DEMO_SPEC) || DEMO_SPEC} on the local cloud:`);
  const handle = await startOperation(
    client,
    'provisionEnvironment',
    provisionWorkflowId(spec.name),
    [{ spec }],
    `demo: provision ${spec.name}`,
  );
  const watch = `${where.uiUrl}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}`;
  say(`  Watch it in the Web UI: ${watch}`);
  const result = await followProgress<ProvisionResult>(handle);
  say(formatProvisionResult(result));
  const host = result.hosts[0];
  if (host && where.deployKey) say(`  log in      ssh -i ${where.deployKey} -p ${result.ssh.port} ${result.ssh.user}@${host.address}`);
  say(`  Its run:    ${watch}`);
  say(`  Its history: temporal workflow show --address ${where.address} --workflow-id ${handle.workflowId}`);
}

/**
 * What the worker needs to provision the demo on a fresh machine, each made once and kept in the
 * state folder: the deploy key (OPSFLOW_SSH_KEYS `deploy`) and stack A's database password.
 * Only paths are printed, never the password.
 */
function workerSecrets(env: NodeJS.ProcessEnv, dir: string, say: (line: string) => void): { env: NodeJS.ProcessEnv; deployKey?: string } {
  const extra: NodeJS.ProcessEnv = {};
  let deployKey = configuredSshKeys(env).find((k) => k.name === 'deploy')?.path;
  if (!deployKey) {
    deployKey = path.join(dir, 'ssh', 'deploy');
    ensurePrivateDir(path.dirname(deployKey)); // tightened too when an older version left it 0755
    if (!existsSync(deployKey)) {
      const pair = generateEd25519();
      writeFileSync(deployKey, pair.private, { mode: 0o600, flag: 'wx' });
      writeFileSync(`${deployKey}.pub`, `${pair.public} opsflow-deploy\n`, { mode: 0o600 });
      say(`Created the deploy SSH key ${deployKey} (ed25519); the worker registers it with the cloud as \`deploy\`.`);
    }
    extra.OPSFLOW_SSH_KEYS = [env.OPSFLOW_SSH_KEYS?.trim(), `deploy=${deployKey}`].filter(Boolean).join(',');
  }
  if (!env[DEMO_SECRET]) {
    const file = path.join(dir, 'secrets', DEMO_SECRET);
    ensurePrivateDir(path.dirname(file));
    if (!existsSync(file)) {
      writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
      say(`Generated stack A's database password into ${file} (the worker reads it as ${DEMO_SECRET}).`);
    }
    extra[DEMO_SECRET] = readFileSync(file, 'utf8').trim();
  }
  // The worker hands out only the secrets it is told to: the demo's, beside what the user allows.
  if (envSecretRefusal(DEMO_SECRET, secretAccessFromEnv(env)))
    extra.OPSFLOW_SECRET_ENV = [env.OPSFLOW_SECRET_ENV?.trim() || DEFAULT_SECRET_ENV, DEMO_SECRET].join(',');
  // The key that signs backups and that restores require (backup-key.ts); made once, never printed.
  if (!env[BACKUP_KEY_ENV] && !env[BACKUP_KEY_FILE_ENV]) {
    const file = path.join(dir, 'secrets', 'backup-key');
    ensurePrivateDir(path.dirname(file));
    if (ensureBackupKeyFile(file).created)
      say(`Generated the backup signing key into ${file} (the worker reads it as ${BACKUP_KEY_FILE_ENV}; keep a copy: restores need it).`);
    extra[BACKUP_KEY_FILE_ENV] = file;
  }
  return { env: extra, deployKey };
}

/** Second octet of the local cloud's droplet addresses (127.<n>.x.y), as `opsflow localcloud start` reads it. */
function hostNetwork(env: NodeJS.ProcessEnv): number {
  return Number(env.OPSFLOW_LOCALCLOUD_HOST_NETWORK ?? 100);
}

function spawnWorker(env: NodeJS.ProcessEnv, options: UpOptions, logFile: string): ChildProcess {
  return spawnNode(require.resolve('../worker'), [], { ...env, OPSFLOW_METRICS_ADDRESS: `127.0.0.1:${options.metricsPort}` }, logFile);
}

function spawnCli(env: NodeJS.ProcessEnv, args: string[], logFile: string): ChildProcess {
  return spawnNode(require.resolve('../client/cli'), args, env, logFile);
}

function spawnNode(entry: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const out = openPrivateLog(logFile);
  return spawn(process.execPath, [...process.execArgv, entry, ...args], {
    env,
    stdio: ['ignore', out, out],
    detached: true, // see spawnDevServer: shutdown order is ours, not the terminal's
  });
}

async function waitForEndpoint(
  readEndpoint: () => LocalCloudEndpoint | undefined,
  child: ChildProcess,
  timeoutMs: number,
): Promise<LocalCloudEndpoint> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const endpoint = readEndpoint();
    if (endpoint && endpoint.pid === child.pid) return endpoint;
    if (child.exitCode !== null) throw new Error(`the local cloud exited with code ${child.exitCode}; see .opsflow/localcloud.log`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the local cloud did not start within ${timeoutMs / 1000} s; see .opsflow/localcloud.log`);
}

/** The local cloud serves Linode's API too: the worker's Linode steps go there unless LINODE_TOKEN names a real account. */
function linodeOnLocalCloud(env: NodeJS.ProcessEnv, cloud: { apiUrl: string; token: string }): NodeJS.ProcessEnv {
  return env.LINODE_TOKEN ? {} : { LINODE_API_URL: cloud.apiUrl, LINODE_TOKEN: cloud.token };
}

/** SIGINT first (the worker lets activities finish), SIGKILL if it has not exited in 30 s. */
async function stopChild(name: string, child: ChildProcess, say: (line: string) => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => {
    say(`${name} did not stop in 30 s; killing it.`);
    child.kill('SIGKILL');
  }, 30_000);
  await exited;
  clearTimeout(timer);
  say(`${name} stopped.`);
}
