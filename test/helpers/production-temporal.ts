// The production topology of docker-compose.temporal.yml on this machine: the Temporal server of
// the version the compose file pins (built by scripts/temporal-server.sh), on the machine's
// PostgreSQL (127.0.0.1:5432, trust auth), its schema set up with temporal-sql-tool as the
// auto-setup image does, its configuration rendered by the server from the image's template and
// the compose file's environment, and the compose file's admin job run as written. Each run gets
// its own two databases and free ports; stop() drops the databases.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { copyFileSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { waitForTemporal } from '../../src/devstack/dev-server';
import { resolveWithScript } from '../../src/devstack/temporal-cli';
import { PROJECT_ROOT } from '../../src/paths';
import { readComposeTemporal } from './compose-temporal';
import { dropPostgres } from './databases';
import { freePort } from './processes';
import { killProcess } from './production-worker';
import { tempDir } from './temp';
import { temporalCliPath } from './temporal';
import type { TemporalProcess } from './temporal-process';
import { until } from './until';

const run = promisify(execFile);
const SERVER_SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'temporal-server.sh');

/** Where this machine differs from compose's network; every other setting is the compose file's. */
const MACHINE_POSTGRES = { host: '127.0.0.1', port: '5432', user: 'postgres' };

export interface ProductionTemporal extends TemporalProcess {
  namespace: string;
  serverVersion: string;
  /** The run's own databases: histories and visibility. */
  databases: { history: string; visibility: string };
  logFile: string;
}

/** The directory scripts/temporal-server.sh prints (it builds once per machine, then reuses). */
async function temporalServerDir(): Promise<string> {
  return process.env.OPSFLOW_TEMPORAL_SERVER_DIR ?? resolveWithScript(SERVER_SCRIPT, 'the Temporal server');
}

/** The auto-setup image's schema steps for PostgreSQL, with the schemas the tool carries. */
async function setUpSchema(sqlTool: string, database: string, schema: string): Promise<void> {
  const connection = [
    '--plugin',
    'postgres12',
    '--ep',
    MACHINE_POSTGRES.host,
    '-p',
    MACHINE_POSTGRES.port,
    '-u',
    MACHINE_POSTGRES.user,
    '--db',
    database,
  ];
  for (const step of [['create'], ['setup-schema', '-v', '0.0'], ['update-schema', '--schema-name', schema]]) {
    await run(sqlTool, [...connection, ...step]).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`temporal-sql-tool ${step.join(' ')} on ${database} failed: ${err.stderr || err.message}`);
    });
  }
}

/** A port nobody listens on in [low, high], tried at random. */
async function freePortBetween(low: number, high: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port between ${low} and ${high} after 100 tries`);
}

/**
 * Nine ports the server listens on: gRPC, HTTP and ringpop membership of its four services. The
 * membership ports go to PostgreSQL's cluster_membership.rpc_port, a smallint: above 32767 the
 * server dies at start ("out of range for type smallint"), and the kernel's free ports are above it.
 */
async function serverPorts(): Promise<Record<string, string>> {
  const ports: Record<string, string> = {};
  for (const service of ['FRONTEND', 'HISTORY', 'MATCHING', 'WORKER']) {
    ports[`${service}_GRPC_PORT`] = String(await freePort());
    ports[`${service}_MEMBERSHIP_PORT`] = String(await freePortBetween(20_000, 32_767));
  }
  ports.FRONTEND_HTTP_PORT = String(await freePort());
  return ports;
}

/** Runs the compose file's admin job script with the Temporal CLI on PATH, as the admin-tools image has it. */
async function runAdminJob(script: string, environment: Record<string, string>): Promise<string> {
  const env = { PATH: `${path.dirname(temporalCliPath())}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '/root', ...environment };
  try {
    const { stdout, stderr } = await run('/bin/sh', ['-c', script], { env });
    return stdout + stderr;
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`the compose file's temporal-admin-tools job failed:\n${stdout}${stderr}`);
  }
}

export async function startProductionTemporal(): Promise<ProductionTemporal> {
  const compose = readComposeTemporal();
  const binaries = await temporalServerDir();
  const suffix = randomBytes(4).toString('hex');
  const databases = { history: `opsflow_temporal_${suffix}`, visibility: `opsflow_temporal_visibility_${suffix}` };
  const dir = tempDir('temporal-postgres');
  // The image's layout: the config template the server renders, and the dynamic config file.
  mkdirSync(path.join(dir, 'config'));
  copyFileSync(path.join(binaries, 'config', 'docker.yaml'), path.join(dir, 'config', 'docker.yaml'));
  const ports = await serverPorts();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...compose.serverEnvironment,
    // compose's `postgresql` service is this machine's PostgreSQL, whose role is postgres (trust auth).
    POSTGRES_SEEDS: MACHINE_POSTGRES.host,
    DB_PORT: MACHINE_POSTGRES.port,
    POSTGRES_USER: MACHINE_POSTGRES.user,
    DBNAME: databases.history,
    VISIBILITY_DBNAME: databases.visibility,
    BIND_ON_IP: '127.0.0.1',
    DYNAMIC_CONFIG_FILE_PATH: path.join(binaries, 'config', 'dynamicconfig', 'docker.yaml'),
    ...ports,
  };
  // The configuration's inputs, kept with the log for whoever reads a failure.
  writeFileSync(
    path.join(dir, 'server.env'),
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  const logFile = path.join(dir, 'server.log');

  await setUpSchema(path.join(binaries, 'temporal-sql-tool'), databases.history, 'postgresql/v12/temporal');
  await setUpSchema(path.join(binaries, 'temporal-sql-tool'), databases.visibility, 'postgresql/v12/visibility');

  const address = `127.0.0.1:${ports.FRONTEND_GRPC_PORT}`;
  let server: ChildProcess | undefined;
  const start = async () => {
    const log = openSync(logFile, 'a');
    server = spawn(path.join(binaries, 'temporal-server'), ['--root', dir, '--config', 'config', '--env', 'docker', 'start'], {
      env,
      stdio: ['ignore', log, log],
    });
    const exited = new Promise<never>((_, reject) =>
      server!.once('exit', (code, signal) =>
        reject(new Error(`temporal-server exited (${code ?? signal}) before it answered; see ${logFile}`)),
      ),
    );
    exited.catch(() => {}); // only raced below; a later exit (a kill) is expected
    await Promise.race([waitForTemporal(address, 180_000), exited]);
  };

  const cleanUp = async () => {
    if (server) await killProcess(server);
    await dropPostgres(databases.history, databases.visibility);
  };
  let connection: Connection | undefined;
  try {
    await start();
    const serverVersion = await waitForTemporal(address, 10_000);
    const admin: Record<string, string> = { ...compose.adminEnvironment, TEMPORAL_ADDRESS: address };
    await runAdminJob(compose.adminScript, admin);
    const namespace = admin.NAMESPACE ?? 'default';
    connection = await Connection.connect({ address });
    // Ready when a visibility query on opsflow's attributes answers in the namespace: the frontend
    // has the new namespace in its cache and visibility knows the attributes.
    await until('the namespace and its search attributes usable', async () =>
      connection!.workflowService.countWorkflowExecutions({ namespace, query: "OpsEnvironment = 'none'" }).then(
        () => true,
        () => undefined,
      ),
    );
    const client = new Client({ connection, namespace });
    return {
      address,
      client,
      namespace,
      serverVersion,
      databases,
      logFile,
      kill: async () => {
        if (server) await killProcess(server);
      },
      start,
      async stop() {
        await connection?.close();
        await cleanUp();
      },
    };
  } catch (err) {
    await connection?.close();
    await cleanUp();
    throw err;
  }
}
