// The droplet's container runtime: containers as records in the droplet's state plus, while they
// run, a server process or an in-process HTTP service. It creates, starts, stops and removes them,
// applies restart policies, restores what ran after a restart of the local cloud, and tells the
// docker shim what a `docker exec` runs.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeDropletFile } from '../isolation/droplet-files';
import { SANDBOX_PATH, sandboxEnv, type DropletSandbox } from '../sandbox';
import { appDriver } from './app-container';
import {
  appendLog,
  asUser,
  ContainerFailed,
  containerDir,
  logFileOf,
  pathInContainer,
  userOf,
  type ContainerContext,
  type ContainerDriver,
  type RunningContainer,
} from './container-driver';
import { visiblePath } from './droplet-paths';
import { imageKind, misbehaviourOf, parseImage, type ImageKind } from './image';
import { mariadbDriver } from './mariadb-container';
import { postgresDriver } from './postgres-container';
import type { ExecInstruction } from './protocol';
import { redisDriver } from './redis-container';
import { runInSandbox } from './sandboxed-process';
import type { ContainerRecord, ContainerSpec, ServicesState } from './state';

/** An error the docker daemon would report: printed as "Error response from daemon: ...". */
export class DaemonError extends Error {}

const DRIVERS: Record<ImageKind, ContainerDriver> = {
  postgres: postgresDriver,
  mariadb: mariadbDriver,
  redis: redisDriver,
  app: appDriver,
};

export interface NewContainer {
  name: string;
  spec: ContainerSpec;
  project?: string;
  service?: string;
  configFiles?: string[];
  workingDir?: string;
}

export interface ExecOptions {
  interactive: boolean;
  env: Record<string, string>;
  workdir?: string;
  user?: string;
}

export class Containers {
  private readonly running = new Map<string, RunningContainer>();
  private readonly stopping = new Set<string>();
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly restarts = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly sandbox: DropletSandbox,
    private readonly state: ServicesState,
    private readonly save: () => void,
    private readonly log: (message: string, fields: Record<string, unknown>) => void,
  ) {}

  /** Newest first, as `docker ps` lists them. */
  all(): ContainerRecord[] {
    // Reversed first so that containers created in the same millisecond still come newest first.
    return Object.values(this.state.containers)
      .reverse()
      .sort((a, b) => b.created.localeCompare(a.created));
  }

  inProject(project: string): ContainerRecord[] {
    return this.all().filter((record) => record.project === project);
  }

  /** By exact name, exact id or unique id prefix, as docker resolves a container reference. */
  find(reference: string): ContainerRecord | undefined {
    const name = reference.replace(/^\//, '');
    const all = this.all();
    const exact = all.find((record) => record.name === name || record.id === name);
    if (exact) return exact;
    const prefixed = all.filter((record) => record.id.startsWith(name));
    return prefixed.length === 1 && name.length > 0 ? prefixed[0] : undefined;
  }

  get(reference: string): ContainerRecord {
    const record = this.find(reference);
    if (!record) throw new DaemonError(`No such container: ${reference}`);
    return record;
  }

  isRunning(record: ContainerRecord): boolean {
    return this.running.has(record.id);
  }

  isRestarting(record: ContainerRecord): boolean {
    return this.restartTimers.has(record.id);
  }

  kindOf(record: ContainerRecord): ImageKind {
    return imageKind(parseImage(record.spec.image));
  }

  create(input: NewContainer): ContainerRecord {
    const taken = this.find(input.name);
    if (taken && taken.name === input.name) {
      throw new DaemonError(
        `Conflict. The container name "/${input.name}" is already in use by container "${taken.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    const record: ContainerRecord = {
      id: randomBytes(32).toString('hex'),
      name: input.name,
      project: input.project,
      service: input.service,
      configFiles: input.configFiles,
      workingDir: input.workingDir,
      spec: input.spec,
      configHash: configHash(input.spec),
      created: new Date().toISOString(),
      desired: 'stopped',
      status: 'created',
      exitCode: 0,
    };
    // A new container starts with an empty log; its data folder stays (see removeData).
    const logFile = logFileOf(this.sandbox, record.name);
    writeDropletFile(this.sandbox, logFile, '');
    this.state.containers[record.id] = record;
    this.save();
    return record;
  }

  async start(record: ContainerRecord): Promise<void> {
    this.cancelRestart(record);
    if (this.running.has(record.id)) return;
    record.desired = 'running';
    const ctx = this.context(record);
    let running: RunningContainer;
    try {
      running = await DRIVERS[this.kindOf(record)].start(ctx);
    } catch (error) {
      record.status = 'exited';
      record.exitCode = error instanceof ContainerFailed ? error.exitCode : 1;
      record.finishedAt = new Date().toISOString();
      this.save();
      const message = (error as Error).message;
      appendLog(ctx, message);
      throw new DaemonError(error instanceof ContainerFailed ? `container ${record.name} failed to start: ${message}` : message);
    }
    Object.assign(record, {
      status: 'running',
      exitCode: 0,
      startedAt: new Date().toISOString(),
      boundPorts: running.ports,
      process: running.process,
    });
    this.running.set(record.id, running);
    this.save();
    void running.exited.then((code) => this.exitedBy(record, running, code));
  }

  /** Stops a container; `keepDesired` (a shutdown of the local cloud) leaves it to be restored. */
  async stop(record: ContainerRecord, keepDesired = false): Promise<void> {
    this.cancelRestart(record);
    if (!keepDesired) record.desired = 'stopped';
    const running = this.running.get(record.id);
    if (!running) {
      this.save();
      return;
    }
    this.stopping.add(record.id);
    try {
      await running.stop();
      await running.exited;
      await new Promise((resolve) => setImmediate(resolve)); // let exitedBy record the exit
    } finally {
      this.stopping.delete(record.id);
    }
  }

  async restart(record: ContainerRecord): Promise<void> {
    await this.stop(record);
    await this.start(record);
  }

  /** Removes a container; `removeData` also deletes its folder (the data of a database without a volume). */
  async remove(record: ContainerRecord, removeData: boolean): Promise<void> {
    await this.stop(record);
    delete this.state.containers[record.id];
    this.save();
    if (removeData) await this.removeFolder(containerDir(record.name));
  }

  /** Deletes a folder of the droplet from inside it, so a symlink cannot lead the delete outside. */
  async removeFolder(folder: string): Promise<void> {
    await runInSandbox(this.sandbox, ['/bin/rm', '-rf', '--', folder], { env: sandboxEnv() });
  }

  /** After a restart of the local cloud: ends servers a crash left behind, starts what should run. */
  async restore(): Promise<void> {
    for (const record of Object.values(this.state.containers)) {
      if (sane(record)) continue;
      // The state file is the droplet's to edit; what no longer makes sense is dropped, not run.
      this.log('dropping an unreadable container record', { container: String(record?.name) });
      delete this.state.containers[(record as { id?: string })?.id ?? ''];
    }
    const records = this.all().reverse();
    for (const record of records) {
      // Only ever shown: what ran before ended with the previous local cloud's pid namespace.
      delete record.process;
      if (record.desired !== 'running') {
        if (record.status === 'running') Object.assign(record, { status: 'exited', exitCode: 0, finishedAt: new Date().toISOString() });
        continue;
      }
      try {
        await this.start(record);
      } catch (error) {
        this.log('container did not come back', { container: record.name, error: (error as Error).message });
      }
    }
    this.save();
  }

  /** Stops every running container, remembering that they should run. */
  async shutdown(): Promise<void> {
    this.closed = true;
    for (const timer of this.restartTimers.values()) clearTimeout(timer);
    this.restartTimers.clear();
    await Promise.all(this.all().map((record) => this.stop(record, true)));
  }

  health(record: ContainerRecord): 'healthy' | 'unhealthy' | undefined {
    if (!record.spec.healthcheck || !this.isRunning(record)) return undefined;
    const image = parseImage(record.spec.image);
    return imageKind(image) === 'app' && misbehaviourOf(image).unhealthy ? 'unhealthy' : 'healthy';
  }

  /** What `docker exec` runs: the command with the container's environment, in the droplet. */
  exec(record: ContainerRecord, argv: string[], options: ExecOptions): ExecInstruction {
    if (!this.isRunning(record)) throw new DaemonError(`container ${record.id} is not running`);
    if (argv.length === 0) throw new DaemonError('No command specified');
    const ctx = this.context(record);
    const additions = DRIVERS[this.kindOf(record)].execEnv(ctx);
    const env = {
      PATH: [additions.pathPrefix, SANDBOX_PATH].filter(Boolean).join(':'),
      HOSTNAME: record.id.slice(0, 12),
      HOME: '/root',
      LANG: 'C.UTF-8',
      ...record.spec.env,
      ...additions.env,
      ...options.env,
    };
    const workdir = options.workdir ?? record.spec.workingDir;
    let cwd = '/';
    if (workdir) {
      const mapped = pathInContainer(ctx, workdir);
      cwd = existsSync(visiblePath(this.sandbox, mapped)) ? mapped : existsSync(visiblePath(this.sandbox, workdir)) ? workdir : '/';
    }
    let command = argv;
    const user = options.user ?? record.spec.user;
    if (user) {
      const name = user.split(':')[0]!;
      // The image's own users (node, www-data...) may not exist here: an explicit -u must, compose's may not.
      if (userOf(this.sandbox, name)) command = asUser(this.sandbox, name, argv);
      else if (options.user) throw new DaemonError(`unable to find user ${name}: no matching entries in passwd file`);
    }
    return { argv: command, env, cwd, stdin: options.interactive };
  }

  logFile(record: ContainerRecord): string {
    return logFileOf(this.sandbox, record.name);
  }

  private context(record: ContainerRecord): ContainerContext {
    return {
      sandbox: this.sandbox,
      record,
      image: parseImage(record.spec.image),
      dir: containerDir(record.name),
      logFile: logFileOf(this.sandbox, record.name),
    };
  }

  private exitedBy(record: ContainerRecord, running: RunningContainer, code: number): void {
    if (this.running.get(record.id) !== running) return;
    this.running.delete(record.id);
    Object.assign(record, { status: 'exited', exitCode: code, finishedAt: new Date().toISOString(), process: undefined });
    const current = this.state.containers[record.id] === record;
    if (current) this.save();
    if (!current || this.closed || this.stopping.has(record.id) || !this.restartWanted(record, code)) return;
    // Docker's back-off: doubling delays, reset once a container has stayed up for a while.
    const ranFor = Date.now() - Date.parse(record.startedAt ?? record.created);
    const count = ranFor > 10_000 ? 0 : (this.restarts.get(record.id) ?? 0);
    this.restarts.set(record.id, count + 1);
    const timer = setTimeout(
      () => {
        this.restartTimers.delete(record.id);
        this.start(record).catch((error: Error) => this.log('container restart failed', { container: record.name, error: error.message }));
      },
      Math.min(500 * 2 ** count, 20_000),
    );
    this.restartTimers.set(record.id, timer);
  }

  private restartWanted(record: ContainerRecord, code: number): boolean {
    const [policy, max] = record.spec.restart.split(':');
    if (policy === 'always' || policy === 'unless-stopped') return true;
    if (policy !== 'on-failure' || code === 0) return false;
    return max === undefined || (this.restarts.get(record.id) ?? 0) < Number(max);
  }

  private cancelRestart(record: ContainerRecord): void {
    const timer = this.restartTimers.get(record.id);
    if (timer) clearTimeout(timer);
    this.restartTimers.delete(record.id);
  }
}

function sane(record: ContainerRecord): boolean {
  if (typeof record !== 'object' || record === null || typeof record.id !== 'string' || typeof record.name !== 'string') return false;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(record.name) || typeof record.spec !== 'object' || record.spec === null) return false;
  const { spec } = record;
  if (
    !Array.isArray(spec.ports) ||
    !Array.isArray(spec.volumes) ||
    typeof spec.env !== 'object' ||
    spec.env === null ||
    typeof spec.restart !== 'string'
  )
    return false;
  try {
    parseImage(spec.image);
  } catch {
    return false;
  }
  return spec.volumes.every(
    (mount) => typeof mount?.source === 'string' && mount.source.startsWith('/') && typeof mount.target === 'string',
  );
}

export function configHash(spec: ContainerSpec): string {
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (value && typeof value === 'object')
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
      );
    return value;
  };
  return createHash('sha256')
    .update(JSON.stringify(sorted(spec)))
    .digest('hex');
}
