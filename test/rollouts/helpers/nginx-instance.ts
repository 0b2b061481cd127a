// A real nginx (Debian's nginx-light) for tests: its own prefix in a temp folder, one worker,
// listening on a free 127.0.0.1 port, run as `nobody` when the test runs as root. The test owns the
// process and stops it; the rollout code reaches it only as an NginxRouter would reach any nginx.
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../helpers/processes';
import { tempDir } from '../../helpers/temp';
import { until } from '../../helpers/until';

export const NGINX = '/usr/sbin/nginx';
const NOBODY = 65534;

export interface NginxInstance {
  port: number;
  dir: string;
  upstreamFile: string;
  /** Arguments that select this instance for -t and -s reload. */
  instanceArgs: string[];
  /** The worker processes' pids now (read from /proc: the master's children). */
  workers(): number[];
  stop(): Promise<void>;
}

/** Starts nginx with `upstreamText` as its upstream file, proxying `/` to the upstream `upstream`. */
export async function startNginx(upstream: string, upstreamText: string): Promise<NginxInstance> {
  const dir = tempDir('nginx');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  for (const sub of ['tmp', 'logs']) mkdirSync(path.join(dir, sub));
  const conf = path.join(dir, 'nginx.conf');
  const upstreamFile = path.join(dir, 'upstream.conf');
  writeFileSync(upstreamFile, upstreamText);
  writeFileSync(
    conf,
    [
      'worker_processes 1;',
      'daemon off;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/logs/error.log warn;`,
      'events { worker_connections 512; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/tmp/${kind};`),
      `  include ${upstreamFile};`,
      `  server { listen 127.0.0.1:${port}; location / { proxy_pass http://${upstream}; proxy_next_upstream off; } }`,
      '}',
      '',
    ].join('\n'),
  );
  const instanceArgs = ['-p', dir, '-c', conf, '-e', path.join(dir, 'logs', 'error.log')];
  if (asRoot) {
    // nobody must read the folder and write its logs, pid and temp files.
    chmodSync(dir, 0o755);
    for (const p of [dir, path.join(dir, 'tmp'), path.join(dir, 'logs')]) chownSync(p, NOBODY, NOBODY);
  }
  const [program, args] = asRoot
    ? ['/usr/bin/setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', NGINX, ...instanceArgs]]
    : [NGINX, instanceArgs];
  const child: ChildProcess = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const workers = (): number[] => {
    const file = `/proc/${child.pid}/task/${child.pid}/children`;
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  };
  await until(
    `nginx listening on 127.0.0.1:${port} (stderr: ${stderr})`,
    async () =>
      child.exitCode === null
        ? existsSync(path.join(dir, 'nginx.pid')) && workers().length > 0
          ? true
          : undefined
        : Promise.reject(new Error(`nginx exited: ${stderr}`)),
    15_000,
  );
  return {
    port,
    dir,
    upstreamFile,
    instanceArgs,
    workers,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Waits until a reload has replaced every worker in `before` (a new one runs, none of the old). */
export async function reloadDone(instance: NginxInstance, before: readonly number[]): Promise<void> {
  await until(
    'nginx reload finished (old workers gone, a new one running)',
    async () => {
      const now = instance.workers();
      return now.length > 0 && now.every((pid) => !before.includes(pid)) ? true : undefined;
    },
    15_000,
  );
}
