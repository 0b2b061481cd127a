// The real nginx behind a cluster's ingress (Debian's, the one droplets run): its master runs as
// root to bind port 80 of the ingress's address, its one worker as nobody, which buffers large
// bodies in a folder of its own under the system's temp folder (the cluster's folder is root's
// alone: it holds the cluster's keys). A new configuration is
// tested (`nginx -t`) before it replaces the running one, and loaded with `nginx -s reload`, which
// lets requests in flight finish on the old workers: switching weights loses none. apply() returns
// once the old workers have exited, so from then on every request meets the new configuration
// (nginx's weighted round robin then splits any run of requests exactly by weight).
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ComponentProcess } from '../component-process';
import { renderIngressConf } from './nginx-conf';
import type { PlannedRoute } from './traffic-plan';

const NGINX = '/usr/sbin/nginx';
const NOBODY = 65534;
const STOP_GRACE_MS = 5_000;
const LISTEN_TIMEOUT_MS = 30_000;
/** How long a reload waits for the old workers to finish their requests and exit. */
const OLD_WORKERS_TIMEOUT_MS = 60_000;
const run = promisify(execFile);

export class IngressNginx {
  private current = '';

  private constructor(
    private readonly dir: string,
    private readonly tempDir: string,
    readonly address: string,
    private readonly process: ComponentProcess,
  ) {}

  private static confFile(dir: string): string {
    return path.join(dir, 'nginx.conf');
  }

  /** Starts nginx with no routes (every request 404) on port 80 of `address`. */
  static async start(dir: string, address: string): Promise<IngressNginx> {
    if (process.getuid?.() !== 0) throw new Error('the cluster ingress binds port 80 of its address, so the local cloud must run as root');
    mkdirSync(path.join(dir, 'logs'), { recursive: true, mode: 0o700 });
    const tempDir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-ingress-'));
    chownSync(tempDir, NOBODY, NOBODY);
    let component: ComponentProcess | undefined;
    try {
      const conf = IngressNginx.confFile(dir);
      const first = renderIngressConf([], { address, dir, tempDir, workerUser: 'nobody nogroup' });
      writeFileSync(conf, first, { mode: 0o644 });
      await IngressNginx.test(dir, conf);
      component = ComponentProcess.start({
        name: 'ingress-nginx',
        binary: NGINX,
        args: ['-p', dir, '-c', conf, '-e', path.join(dir, 'logs', 'error.log')],
        logFile: path.join(dir, 'logs', 'nginx.log'),
        env: {},
      });
      const nginx = new IngressNginx(dir, tempDir, address, component);
      nginx.current = first;
      await nginx.waitListening();
      return nginx;
    } catch (error) {
      await component?.stop(STOP_GRACE_MS);
      rmSync(tempDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Loads the configuration for `routes` if it differs from the running one; false when unchanged. */
  async apply(routes: PlannedRoute[]): Promise<boolean> {
    const text = renderIngressConf(routes, { address: this.address, dir: this.dir, tempDir: this.tempDir, workerUser: 'nobody nogroup' });
    if (text === this.current) return false;
    const conf = IngressNginx.confFile(this.dir);
    const next = `${conf}.next`;
    writeFileSync(next, text, { mode: 0o644 });
    await IngressNginx.test(this.dir, next);
    renameSync(next, conf);
    const oldWorkers = this.workers();
    await run(NGINX, ['-p', this.dir, '-c', conf, '-e', path.join(this.dir, 'logs', 'error.log'), '-s', 'reload']);
    this.current = text;
    await this.waitForWorkersGone(oldWorkers);
    return true;
  }

  /** The master's worker processes now (children of its pid, from /proc). */
  private workers(): number[] {
    const master = this.process.pid;
    if (master === undefined) return [];
    const found: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        // stat: pid (comm) state ppid ...; comm may hold spaces, so read after its closing parenthesis.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === master) found.push(Number(entry));
      } catch {
        // exited while listed
      }
    }
    return found;
  }

  private async waitForWorkersGone(oldWorkers: number[]): Promise<void> {
    const deadline = Date.now() + OLD_WORKERS_TIMEOUT_MS;
    while (oldWorkers.some((pid) => existsSync(`/proc/${pid}`) && !isZombie(pid))) {
      if (Date.now() > deadline) throw new Error(`nginx's old workers (${oldWorkers.join(', ')}) did not exit within 60 s of a reload`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get running(): boolean {
    return this.process.running;
  }

  async stop(): Promise<void> {
    await this.process.stop(STOP_GRACE_MS);
    rmSync(this.tempDir, { recursive: true, force: true });
  }

  private static async test(dir: string, conf: string): Promise<void> {
    try {
      await run(NGINX, ['-t', '-q', '-p', dir, '-c', conf, '-e', path.join(dir, 'logs', 'error.log')]);
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      throw new Error(`nginx refused the ingress configuration ${conf}: ${stderr.trim()}`);
    }
  }

  private async waitListening(): Promise<void> {
    const deadline = Date.now() + LISTEN_TIMEOUT_MS;
    while (!(await answers(this.address, 80))) {
      if (!this.process.running) throw new Error(`the ingress nginx exited (${this.process.exitDescription}): ${this.process.logTail()}`);
      if (Date.now() > deadline || !existsSync(this.dir))
        throw new Error(`the ingress nginx is not listening on ${this.address}:80 after ${LISTEN_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 100)); // polling cadence
    }
  }
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
