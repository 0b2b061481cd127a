// Shared by the benchmarks that run opsflow itself: the production worker (dist/worker.js) as a
// child process with a prebuilt workflow bundle, and requests from the local cloud's log folded
// into kinds ("GET /v2/droplets/:id") and counted.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { LocalCloud, LoggedRequest } from '@opsflow/localcloud';

export const ROOT = path.join(__dirname, '..');
/**
 * The build that is measured: the checkout's dist/, or OPSFLOW_BENCH_DIST (another build of opsflow,
 * such as the commit before a change, measured by this same bench code).
 */
export const DIST = process.env.OPSFLOW_BENCH_DIST ? path.resolve(process.env.OPSFLOW_BENCH_DIST) : path.join(ROOT, 'dist');
export const WORKER = path.join(DIST, 'worker.js');

/** The production worker loads a prebuilt bundle (as a Docker image would); written into `dir`. */
export async function writeWorkflowBundle(dir: string): Promise<string> {
  const bundle = path.join(dir, 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(DIST, 'workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  writeFileSync(bundle, code);
  return bundle;
}

export function startWorker(env: NodeJS.ProcessEnv, logFile: string): Promise<ChildProcess> {
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [WORKER], { env, stdio: ['ignore', log, 'pipe'] });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      writeFileSync(logFile, chunk, { flag: 'a' });
      if (text.includes('"worker started"')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code}):\n${text}`)));
  });
}

export function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT');
  });
}

/** `GET /v2/droplets/:id`, `POST /v2/volumes/:id/actions`: the path with ids folded, no query. */
export function kindOf(request: LoggedRequest): string {
  const [pathOnly, query] = request.url.split('?');
  const folded = (pathOnly ?? '')
    .split('/')
    .map((part) => (/^\d+$|^[0-9a-f]{8}-[0-9a-f-]{27}$|^\d+\.\d+\.\d+\.\d+$/.test(part) ? ':id' : part))
    .join('/');
  const filter = new URLSearchParams(query ?? '').has('tag_name')
    ? '?tag_name'
    : new URLSearchParams(query ?? '').has('name')
      ? '?name'
      : '';
  return `${request.method} ${folded}${filter}`;
}

export function byKind(requests: LoggedRequest[], divisor = 1): string {
  const counts = new Map<string, number>();
  for (const r of requests) counts.set(kindOf(r), (counts.get(kindOf(r)) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${kind} ${divisor === 1 ? n : (n / divisor).toFixed(1)}`)
    .join(', ');
}

/** Empties the cloud (droplet hosts, request log and rate-limit window included) between runs. */
export async function resetCloud(cloud: LocalCloud): Promise<void> {
  const response = await fetch(`${cloud.apiUrl}/_localcloud/reset`, { method: 'POST', headers: cloud.controlHeaders });
  if (!response.ok) throw new Error(`reset failed: ${response.status}`);
}

export type Inventory = Record<string, { name?: string; ip?: string; droplet_id?: number | null }[]>;

export async function inventory(cloud: LocalCloud): Promise<Inventory> {
  return (await fetch(`${cloud.apiUrl}/_localcloud/inventory`, { headers: cloud.controlHeaders })).json() as Promise<Inventory>;
}

/** Resources beyond one of each kind per environment (duplicates, or orphans of a rollback). */
export function extras(inv: Inventory, environments: number): string[] {
  const found: string[] = [];
  for (const kind of ['droplets', 'volumes', 'firewalls', 'vpcs', 'reserved_ips']) {
    const n = inv[kind]?.length ?? 0;
    if (n !== environments) found.push(`${kind} ${n}`);
  }
  const unassigned = (inv.reserved_ips ?? []).filter((r) => r.droplet_id === null).length;
  if (unassigned) found.push(`${unassigned} reserved IP(s) assigned to no droplet`);
  return found;
}
