// One per droplet: the manager behind the droplet's docker, systemctl, apt-get and nginx. It listens on
// the droplet's control socket (/run/localcloud/control.sock inside, a file in the droplet's folder
// outside), answers the shims, owns the containers and units it starts (so they outlive the SSH
// session that asked), and keeps their state in the droplet's folder so that start() after a
// restart of the local cloud brings back what ran; stop() ends every process but keeps the state.
import { existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { log } from '../../log';
import { giveToDroplet, makeDropletDir } from '../isolation/droplet-files';
import { hostPath, type DropletSandbox } from '../sandbox';
import { aptCommand } from './apt-cli';
import { Containers } from './containers';
import { dockerCommand } from './docker-cli';
import { composeCommand } from './compose-cli';
import { Mutex } from './mutex';
import { nginxCommand } from './nginx-cli';
import { MAX_REQUEST_BYTES, parseRequest, type Invocation, type Outcome, type ShimReply, type ShimRequest } from './protocol';
import type { DropletRuntime } from './runtime';
import { writeShims } from './shims';
import { loadState, saveState, type ServicesState } from './state';
import { systemctlCommand } from './systemctl-cli';
import { Units } from './units';

/** The control socket's path inside the droplet. */
export const CONTROL_SOCKET = '/run/localcloud/control.sock';
/** Longest unix socket path Linux accepts (sun_path less its terminating NUL). */
const MAX_SOCKET_PATH = 107;

export class DropletServices {
  private server?: net.Server;
  private readonly connections = new Set<net.Socket>();
  private state: ServicesState = { containers: {}, units: {}, images: {} };
  private containers?: Containers;
  private units?: Units;
  private readonly dockerLock = new Mutex();
  // Units have their own lock: a oneshot unit's ExecStart is often `docker compose up -d`.
  private readonly unitLock = new Mutex();
  private readonly log = log;

  constructor(readonly sandbox: DropletSandbox) {}

  /** Writes the docker, docker-compose, systemctl, apt-get and apt shims into a shim folder. */
  static writeShims(shimDir: string): void {
    writeShims(shimDir);
  }

  /** Host path of the control socket. */
  get socketPath(): string {
    return hostPath(this.sandbox, CONTROL_SOCKET);
  }

  /** Listens on the control socket and brings back the containers and units that ran before. */
  async start(): Promise<void> {
    if (this.server) return;
    this.state = loadState(this.sandbox);
    // A container that exits after its droplet's folder is gone (destroyed, or a test's temp
    // folder removed) has no state left to keep: say so instead of crashing the local cloud.
    const save = () => {
      try {
        saveState(this.sandbox, this.state);
      } catch (error) {
        this.log.warn('droplet services state not saved', { droplet: this.sandbox.dropletId, error: (error as Error).message });
      }
    };
    const log = (message: string, fields: Record<string, unknown>) =>
      this.log.warn(message, { droplet: this.sandbox.dropletId, ...fields });
    this.containers = new Containers(this.sandbox, this.state, save, log);
    this.units = new Units(this.sandbox, this.state, save, log);
    await this.listen();
    // Restored under the locks, so a shim that connects meanwhile waits for a settled state.
    await this.dockerLock.run(() => this.containers!.restore());
    await this.unitLock.run(() => this.units!.restore());
  }

  /** Stops every container and unit process it started and closes the socket; the state stays. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.connections) socket.destroy();
    await Promise.all([this.unitLock.run(() => this.units!.shutdown()), this.dockerLock.run(() => this.containers!.shutdown())]);
    rmSync(this.socketPath, { force: true });
  }

  private async listen(): Promise<void> {
    const socketPath = this.socketPath;
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new Error(`the droplet's control socket path is too long for a unix socket (${socketPath}): use a shorter state folder`);
    }
    makeDropletDir(this.sandbox, path.dirname(socketPath));
    if (existsSync(socketPath)) {
      if (await answers(socketPath)) throw new Error(`droplet ${this.sandbox.name}'s services are already running (${socketPath})`);
      rmSync(socketPath, { force: true }); // left by a previous run that did not stop
    }
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        // Connecting takes write permission on the socket: the droplet's root has it.
        giveToDroplet(this.sandbox, socketPath);
        resolve();
      });
    });
    this.server = server;
  }

  private accept(socket: net.Socket): void {
    this.connections.add(socket);
    const abort = new AbortController();
    socket.on('close', () => {
      this.connections.delete(socket);
      abort.abort();
    });
    socket.on('error', () => undefined);
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline === -1) {
        if (buffered.length > MAX_REQUEST_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onData);
      let request: ShimRequest;
      try {
        request = parseRequest(buffered.slice(0, newline));
      } catch {
        socket.destroy();
        return;
      }
      void this.serve(socket, request, abort.signal);
    };
    socket.on('data', onData);
  }

  private async serve(socket: net.Socket, request: ShimRequest, signal: AbortSignal): Promise<void> {
    const send = (reply: ShimReply) => {
      if (!socket.destroyed) socket.write(JSON.stringify(reply) + '\n');
    };
    const inv: Invocation = {
      request,
      signal,
      io: {
        out: (text) => text && send({ stdout: text }),
        err: (text) => text && send({ stderr: text }),
        drain: () =>
          socket.writableNeedDrain && !socket.destroyed
            ? new Promise((resolve) => {
                socket.once('drain', resolve);
                socket.once('close', resolve);
              })
            : Promise.resolve(),
      },
    };
    let outcome: Outcome;
    try {
      outcome = await this.dispatch(inv);
    } catch (error) {
      this.log.error('droplet command failed', {
        droplet: this.sandbox.dropletId,
        tool: request.tool,
        error: (error as Error).stack ?? String(error),
      });
      send({ stderr: `localcloud: ${request.tool} failed: ${(error as Error).message}\n` });
      outcome = 1;
    }
    send(typeof outcome === 'number' ? { exit: outcome } : { exec: outcome.exec });
    socket.end();
  }

  private dispatch(inv: Invocation): Promise<Outcome> {
    const runtime: DropletRuntime = {
      sandbox: this.sandbox,
      containers: this.containers!,
      state: this.state,
      save: () => saveState(this.sandbox, this.state),
      exclusive: (task) => this.dockerLock.run(task),
    };
    switch (inv.request.tool) {
      case 'docker':
        return dockerCommand(inv, runtime);
      case 'docker-compose':
        return composeCommand(inv, runtime);
      case 'systemctl':
        return systemctlCommand(inv, this.units!, this.sandbox, (task) => this.unitLock.run(task));
      case 'nginx':
        return nginxCommand(inv, this.sandbox);
      case 'apt-get':
      case 'apt':
        return aptCommand(inv, this.sandbox, {
          enableAndStart: (unit) =>
            this.unitLock.run(async () => {
              const lines = this.units!.enable(unit);
              await this.units!.start(unit);
              return lines;
            }),
          stopAndDisable: (unit) =>
            this.unitLock.run(async () => {
              await this.units!.stop(unit);
              this.units!.disable(unit);
            }),
        });
      default:
        inv.io.err(`localcloud: unknown tool ${inv.request.tool}\n`);
        return Promise.resolve(127);
    }
  }
}

/** Whether something listens on a unix socket. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
