// What every kind of container (database servers, application services) provides to the
// container runtime, and the helpers the server kinds share: the container's folder in the droplet,
// paths inside the container mapped through its volumes, system users, folders owned by them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { appendDropletFile } from '../isolation/droplet-files';
import { isLoopbackHostIp } from '../isolation/droplet-loopback';
import { hostPath, sandboxEnv, type DropletSandbox } from '../sandbox';
import type { ImageRef } from './image';
import { fileSize, runInSandbox, SandboxedProcess, waitForLog } from './sandboxed-process';
import type { ContainerRecord, PortBinding, ProcessRef } from './state';
import { CONTAINERS_DIR } from './state';

export interface ContainerContext {
  sandbox: DropletSandbox;
  record: ContainerRecord;
  image: ImageRef;
  /** In-droplet folder of this container: data, sockets, log. */
  dir: string;
  /** Host path of the container's log (what `docker logs` shows). */
  logFile: string;
}

export interface RunningContainer {
  ports: PortBinding[];
  process?: ProcessRef;
  /** Resolves with the exit status when the container ends, by itself or by stop(). */
  exited: Promise<number>;
  stop(): Promise<void>;
}

export interface ExecAdditions {
  env: Record<string, string>;
  /** Folder put first on PATH: the server's own client tools. */
  pathPrefix?: string;
}

export interface ContainerDriver {
  /** Starts the container; resolves once it serves (a database accepts connections). */
  start(ctx: ContainerContext): Promise<RunningContainer>;
  /** What `docker exec` adds so the image's own tools reach this container's server. */
  execEnv(ctx: ContainerContext): ExecAdditions;
  /** Signal that ends the server cleanly; also used on one left behind by a crash. */
  stopSignal: NodeJS.Signals;
}

/** A start that failed in the container itself: the container exits with this status. */
export class ContainerFailed extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function containerDir(name: string): string {
  return path.posix.join(CONTAINERS_DIR, name);
}

export function logFileOf(sandbox: DropletSandbox, name: string): string {
  return hostPath(sandbox, path.posix.join(containerDir(name), 'container.log'));
}

export function appendLog(ctx: ContainerContext, text: string): void {
  try {
    appendDropletFile(ctx.sandbox, ctx.logFile, text.endsWith('\n') || text === '' ? text : `${text}\n`);
  } catch {
    // The droplet's user removed the folder: the message is lost, the container goes on.
  }
}

/**
 * The in-droplet path of a path inside the container: under the volume mounted there if any
 * (the longest matching target wins), else in the container's own folder.
 */
export function pathInContainer(ctx: Pick<ContainerContext, 'record' | 'dir'>, containerPath: string): string {
  const target = path.posix.normalize(containerPath);
  const mounts = [...ctx.record.spec.volumes].sort((a, b) => b.target.length - a.target.length);
  for (const mount of mounts) {
    if (target === mount.target || target.startsWith(mount.target.endsWith('/') ? mount.target : `${mount.target}/`)) {
      return path.posix.join(mount.source, path.posix.relative(mount.target, target));
    }
  }
  return path.posix.join(ctx.dir, 'fs', target);
}

/**
 * The port the server listens on: the one published for its standard port, else that port; and
 * the addresses, where that publication says (listenAddresses).
 */
export function serverPort(ctx: ContainerContext, standard: number): { port: number; addresses: string[]; bound: PortBinding[] } {
  const tcp = ctx.record.spec.ports.filter((port) => port.protocol === 'tcp');
  const mapping = tcp.find((port) => port.target === standard) ?? tcp[0];
  const port = mapping?.published ?? standard;
  const addresses = listenAddresses(ctx.sandbox, { ...(mapping ?? { target: standard, protocol: 'tcp' }), published: port });
  return { port, addresses, bound: mapping ? [{ ...mapping, published: port }] : [] };
}

/**
 * Where a published port listens in the droplet, as compose's host address says:
 *   - none, 0.0.0.0 or ::: every address the droplet has, its public address (every droplet and
 *     the machine reach it) and its own loopback (the droplet reaches it as 127.0.0.1);
 *   - a loopback address (127.0.0.1, ::1): its own loopback only (isolation/droplet-loopback.ts),
 *     which nothing but the droplet reaches;
 *   - its public address: that only; its private (VPC) address, which this machine cannot route,
 *     is its public address here;
 *   - any other address the droplet does not have, and docker refuses it alike.
 */
export function listenAddresses(sandbox: DropletSandbox, port: PortBinding): string[] {
  const ip = port.hostIp;
  const loopback = sandbox.loopbackAddress ? [sandbox.loopbackAddress] : [];
  if (ip === undefined || ip === '0.0.0.0' || ip === '::') return [sandbox.address, ...loopback];
  if (ip === sandbox.address || ip === sandbox.privateAddress) return [sandbox.address];
  if (isLoopbackHostIp(ip)) {
    if (loopback.length > 0) return loopback;
    throw new ContainerFailed(`cannot publish on ${ip}: this droplet has no loopback of its own (no local cloud network policy runs)`);
  }
  throw new ContainerFailed(
    `driver failed programming external connectivity: Error starting userland proxy: listen ${port.protocol} ${ip}:${port.published ?? 0}: bind: cannot assign requested address (the droplet's addresses are ${sandbox.address}, ${sandbox.privateAddress} and 127.0.0.1)`,
  );
}

/** The arguments a compose `command:` gives the server, when it starts with the server's own name. */
export function serverArgs(ctx: ContainerContext, names: string[]): string[] {
  const command = ctx.record.spec.command;
  if (!command || command.length === 0) return [];
  if (command[0]!.startsWith('-')) return command;
  if (names.includes(path.posix.basename(command[0]!))) return command.slice(1);
  appendLog(ctx, `localcloud: ignoring command ${JSON.stringify(command)}: only arguments to ${names[0]} are supported for this image`);
  return [];
}

/** Runs argv as a user of the droplet with that user's primary group (servers that refuse root). */
export function asUser(sandbox: DropletSandbox, user: string, argv: string[]): string[] {
  const account = userOf(sandbox, user);
  if (!account) throw new ContainerFailed(`unable to find user ${user}: no matching entries in passwd file`);
  return ['/usr/bin/setpriv', `--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--', ...argv];
}

/** A user of the droplet by name or uid, from the droplet's own /etc/passwd. */
export function userOf(sandbox: DropletSandbox, user: string): { name: string; uid: number; gid: number } | undefined {
  const passwd = hostPath(sandbox, '/etc/passwd');
  if (!existsSync(passwd)) return undefined;
  for (const line of readFileSync(passwd, 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name && uid && gid && (name === user || uid === user)) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/**
 * Creates folders in the droplet owned by `user`. Done by a command inside the droplet, so a
 * symlink planted there can never point the chown at the machine's own files.
 */
export async function ownedFolders(ctx: ContainerContext, user: string, folders: string[], privateFolder?: string): Promise<void> {
  if (!userOf(ctx.sandbox, user)) throw new ContainerFailed(`user ${user} does not exist in the droplet's /etc/passwd`);
  const script =
    'owner="$1"; private="$2"; shift 2; mkdir -p -- "$@" && chown -R -- "$owner:$owner" "$@" && { [ -z "$private" ] || chmod 700 -- "$private"; }';
  const result = await runInSandbox(ctx.sandbox, ['/bin/sh', '-c', script, 'sh', user, privateFolder ?? '', ...folders], {
    env: sandboxEnv(),
  });
  if (result.code !== 0)
    throw new ContainerFailed(`cannot prepare ${folders.join(', ')} (exit status ${result.code}): ${result.stderr.trim()}`);
}

/** Runs a setup step (initdb and the like) in the droplet, its output going to the container's log. */
export async function setupStep(
  ctx: ContainerContext,
  what: string,
  argv: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<void> {
  const result = await runInSandbox(ctx.sandbox, argv, { env: sandboxEnv(options.env), input: options.input });
  appendLog(ctx, result.stdout + result.stderr);
  if (result.code !== 0)
    throw new ContainerFailed(
      `${what} failed (exit status ${result.code}):\n${(result.stderr || result.stdout).trim().split('\n').slice(-10).join('\n')}`,
    );
}

/** Starts a server in the droplet and waits until its log says it is ready. */
export async function startServer(
  ctx: ContainerContext,
  argv: string[],
  options: { env: Record<string, string>; ready: RegExp; stopSignal: NodeJS.Signals; ports: PortBinding[]; timeoutMs?: number },
): Promise<RunningContainer> {
  const from = fileSize(ctx.logFile);
  const service = SandboxedProcess.spawn(ctx.sandbox, argv, { env: sandboxEnv(options.env), cwd: '/', logFile: ctx.logFile });
  try {
    await waitForLog(ctx.logFile, from, options.ready, service, options.timeoutMs ?? 60_000);
  } catch (error) {
    await service.stop('SIGKILL', 1_000);
    throw new ContainerFailed(`${ctx.image.repository} ${(error as Error).message}`, await service.exited);
  }
  return {
    ports: options.ports,
    process: await service.ref,
    exited: service.exited,
    stop: async () => {
      await service.stop(options.stopSignal, 30_000);
    },
  };
}

/** Files in /docker-entrypoint-initdb.d (a mounted folder or single mounted files), in name order. */
export function initScripts(ctx: ContainerContext): string[] {
  const target = '/docker-entrypoint-initdb.d';
  const found = new Map<string, string>();
  const folder = pathInContainer(ctx, target);
  const hostFolder = hostPath(ctx.sandbox, folder);
  if (existsSync(hostFolder)) {
    for (const entry of readdirSync(hostFolder)) found.set(entry, path.posix.join(folder, entry));
  }
  for (const mount of ctx.record.spec.volumes) {
    if (path.posix.dirname(mount.target) === target) found.set(path.posix.basename(mount.target), mount.source);
  }
  return [...found.keys()].sort().map((name) => found.get(name)!);
}
