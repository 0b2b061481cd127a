// Debian's Prometheus (`prometheus` package, scripts/host-packages.sh) for the local stack and the
// tests: its own folder (config, scrape targets, data), a loopback port, and the machine's
// /usr/bin/prometheus run unprivileged (as `nobody` when this process is root). It scrapes the
// targets listed in a file_sd file, which writeScrapeTargets replaces whole; Prometheus notices the
// change by itself (inotify, and a re-read every few seconds), no restart or reload needed.
// The folder may sit inside the private state folder (0700): Prometheus is started in it and
// names every file relative to it, so `nobody` never has to pass through the folders above.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';
const NOBODY = 65534;
const CONFIG = 'prometheus.yml';
const TARGETS = 'targets.json';
const DATA = 'data';

export interface ScrapeTarget {
  /** host:port of a /metrics endpoint, such as a droplet's application (127.100.0.3:8080). */
  address: string;
  /** Labels every series from it gets, such as { droplet: 'web-1' }. */
  labels?: Record<string, string>;
}

export interface PrometheusOptions {
  /** Its folder: configuration, targets file and data (created if missing). */
  dir: string;
  /** Loopback port for its HTTP API; a free one when not given. */
  port?: number;
  /** How often each target is scraped, as Prometheus writes durations (default 5s). */
  scrapeInterval?: string;
  /** Where its output goes (appended); kept in memory, last 4 KB, when not given. */
  logFile?: string;
  /** The first targets; when not given, those of a previous run stay (else none). */
  targets?: ScrapeTarget[];
}

export interface RunningPrometheus {
  /** http://127.0.0.1:<port>, the HTTP API a rollout's analysis queries. */
  address: string;
  port: number;
  /** The file_sd file: replace it with writeScrapeTargets. */
  targetsFile: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const ADDRESS = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*):(\d{1,5})$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DURATION = /^\d+(ms|s|m|h)$/;

/** Replaces the scrape targets (written beside and renamed over, so Prometheus never reads half a file). */
export function writeScrapeTargets(targetsFile: string, targets: ScrapeTarget[]): void {
  for (const target of targets) {
    const port = ADDRESS.exec(target.address)?.[1];
    if (!port || Number(port) < 1 || Number(port) > 65535)
      throw new Error(`scrape target ${JSON.stringify(target.address)} must be host:port (an IPv4 address or DNS name, a port 1-65535)`);
    for (const [name, value] of Object.entries(target.labels ?? {})) {
      if (!LABEL_NAME.test(name) || name.startsWith('__'))
        throw new Error(
          `scrape target ${target.address}: label name ${JSON.stringify(name)} must match [a-zA-Z_][a-zA-Z0-9_]* without a leading __`,
        );
      if (typeof value !== 'string') throw new Error(`scrape target ${target.address}: label ${name} must be a string`);
    }
  }
  const groups = targets.map((target) => ({ targets: [target.address], labels: target.labels ?? {} }));
  const temporary = `${targetsFile}.tmp`;
  writeFileSync(temporary, JSON.stringify(groups, null, 2) + '\n');
  chmodSync(temporary, 0o644); // whatever the umask: Prometheus may run as another user
  renameSync(temporary, targetsFile);
}

function config(scrapeInterval: string): string {
  return [
    '# Written by opsflow: scrapes the targets in targets.json (file_sd), replaced whole as droplets come and go.',
    'global:',
    `  scrape_interval: ${scrapeInterval}`,
    `  evaluation_interval: ${scrapeInterval}`,
    'scrape_configs:',
    '  - job_name: apps',
    `    scrape_interval: ${scrapeInterval}`,
    '    file_sd_configs:',
    `      - files: [${TARGETS}]`,
    '        refresh_interval: 5s',
    '',
  ].join('\n');
}

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  if (!existsSync(PROMETHEUS_BINARY))
    throw new Error(`${PROMETHEUS_BINARY} is missing: run \`bash scripts/host-packages.sh\` (it installs Debian's prometheus package)`);
  const scrapeInterval = options.scrapeInterval ?? '5s';
  if (!DURATION.test(scrapeInterval)) throw new Error(`scrape interval ${JSON.stringify(scrapeInterval)} must be a duration such as 5s`);
  const dir = path.resolve(options.dir);
  mkdirSync(path.join(dir, DATA), { recursive: true });
  // Its own folder only is opened to it (nothing secret in it); the folders above may stay private.
  chmodSync(dir, 0o755);
  writeFileSync(path.join(dir, CONFIG), config(scrapeInterval));
  chmodSync(path.join(dir, CONFIG), 0o644);
  const targetsFile = path.join(dir, TARGETS);
  if (options.targets || !existsSync(targetsFile)) writeScrapeTargets(targetsFile, options.targets ?? []);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) giveToNobody(path.join(dir, DATA));
  const port = options.port ?? (await freeLoopbackPort());
  const args = [`--config.file=${CONFIG}`, `--storage.tsdb.path=${DATA}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
  const log = options.logFile ? openSync(options.logFile, 'a', 0o600) : undefined;
  const child = spawn(
    asRoot ? '/usr/bin/setpriv' : PROMETHEUS_BINARY,
    asRoot ? [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', PROMETHEUS_BINARY, ...args] : args,
    // Its own process group: a Ctrl-C meant for the terminal is not Prometheus's; its owner stops it.
    { cwd: dir, stdio: ['ignore', log ?? 'ignore', log ?? 'pipe'], detached: true },
  );
  if (log !== undefined) closeSync(log);
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilReady(address, child, 30_000, () => (options.logFile ? `see ${options.logFile}` : output));
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, port, targetsFile, process: child, stop };
}

async function waitUntilReady(address: string, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`prometheus exited (${child.signalCode ?? `code ${child.exitCode}`}) before it was ready: ${output()}`);
    const ready = await fetch(`${address}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`prometheus was not ready at ${address} within ${timeoutMs / 1000} s: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function giveToNobody(dir: string): void {
  chownSync(dir, NOBODY, NOBODY);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) giveToNobody(full);
    else chownSync(full, NOBODY, NOBODY);
  }
}

/** A port free on 127.0.0.1 now (Prometheus takes no port 0); taken by it a moment later. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The local stack's Prometheus (`opsflow up`): in <state>/prometheus, its log in
 * <state>/prometheus.log; undefined (with a line saying why) when the machine has no Prometheus.
 */
export async function startLocalStackPrometheus(stateDir: string, say: (line: string) => void): Promise<RunningPrometheus | undefined> {
  if (!existsSync(PROMETHEUS_BINARY)) {
    say(
      `Prometheus is not installed (${PROMETHEUS_BINARY}): rollouts cannot be judged by metrics here; run \`bash scripts/host-packages.sh\`.`,
    );
    return undefined;
  }
  const running = await startPrometheus({ dir: path.join(stateDir, 'prometheus'), logFile: path.join(stateDir, 'prometheus.log') });
  say(`Prometheus is up at ${running.address}; it scrapes the targets in ${running.targetsFile}.`);
  return running;
}
