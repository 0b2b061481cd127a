// A real Prometheus (Debian's `prometheus` package) for tests: a temp data folder, a free
// 127.0.0.1 port, scraping the given targets every second, run as `nobody` when the test runs as
// root. The test owns the process and stops it.
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../helpers/processes';
import { tempDir } from '../../helpers/temp';
import { until } from '../../helpers/until';

const NOBODY = 65534;

export interface PrometheusInstance {
  address: string;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: string[]): Promise<PrometheusInstance> {
  const dir = tempDir('prometheus');
  const port = await freePort();
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: app',
      '    scrape_interval: 1s',
      '    static_configs:',
      `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n'),
  );
  mkdirSync(path.join(dir, 'data'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chmodSync(dir, 0o755);
    chownSync(path.join(dir, 'data'), NOBODY, NOBODY);
  }
  const args = [
    `--config.file=${config}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ];
  const child = asRoot
    ? spawn('/usr/bin/setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '/usr/bin/prometheus', ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
      })
    : spawn('/usr/bin/prometheus', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `http://127.0.0.1:${port}`;
  await until(
    `Prometheus ready at ${address} (stderr: ${stderr})`,
    async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      const ready = await fetch(`${address}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      return ready ? true : undefined;
    },
    30_000,
  );
  return {
    address,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
