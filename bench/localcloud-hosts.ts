// Benchmark: droplets as hosts. With 50 droplets alive at once: the time from the create call to
// SSH answering (fast timing), and the local cloud's memory per idle droplet host, measured on
// the local cloud's own process against its memory with no droplets in the same run (baseline).
// Loopback only, bounded: 50 droplets, then everything is deleted and the process stopped.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'ssh2';
import { generateEd25519 } from '@opsflow/localcloud';
import { writeResults } from './harness';

const DROPLETS = 50;
const TARGET_TOTAL_MB = 2048;

interface Endpoint {
  pid: number;
  apiUrl: string;
  token: string;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Every process the local cloud started, counted from /proc: idle hosts should have none. */
function descendants(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      if (ppid === pid) children.push(Number(entry), ...descendants(Number(entry)));
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function startCloud(stateDir: string): Promise<{ child: ChildProcess; endpoint: Endpoint }> {
  const cli = path.join(__dirname, '..', 'src', 'client', 'cli.ts');
  const child = spawn(
    path.join(__dirname, '..', 'node_modules', '.bin', 'tsx'),
    [
      cli,
      'localcloud',
      'start',
      '--port',
      String(await freePort()),
      '--no-spaces',
      '--droplet-limit',
      String(DROPLETS),
      '--rate-limit',
      '100000',
    ],
    {
      env: { ...process.env, OPSFLOW_STATE_DIR: stateDir, OPSFLOW_LOCALCLOUD_HOST_NETWORK: '98', DIGITALOCEAN_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Use it:')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`local cloud exited ${code}: ${out}`)));
  });
  const endpoint = JSON.parse(readFileSync(path.join(stateDir, 'localcloud', 'endpoint.json'), 'utf8')) as Endpoint;
  return { child, endpoint };
}

async function api<T>(endpoint: Endpoint, method: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${endpoint.apiUrl}${route}`, {
    method,
    headers: { Authorization: `Bearer ${endpoint.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? (undefined as T) : ((await response.json()) as T);
}

function sshOnce(address: string, privateKey: string): Promise<boolean> {
  return new Promise((resolve) => {
    const client = new Client();
    client
      .on('ready', () =>
        client.exec('true', (err, channel) => {
          if (err) return resolve(false);
          channel
            .on('exit', (code: number) => {
              client.end();
              resolve(code === 0);
            })
            .resume();
        }),
      )
      .on('error', () => resolve(false))
      .connect({ host: address, port: 22, username: 'root', privateKey, readyTimeout: 5000 });
  });
}

async function untilSsh(address: () => string | undefined, privateKey: string): Promise<void> {
  for (;;) {
    const a = address();
    if (a && (await sshOnce(a, privateKey))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

async function main(): Promise<void> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-bench-hosts-'));
  const { child, endpoint } = await startCloud(stateDir);
  try {
    const key = generateEd25519();
    const { ssh_key } = await api<{ ssh_key: { id: number } }>(endpoint, 'POST', '/v2/account/keys', {
      name: 'bench',
      public_key: key.public,
    });
    await new Promise((r) => setTimeout(r, 1000));
    const baselineMb = rssMb(endpoint.pid);
    // tsx keeps an esbuild child of its own; only processes beyond those count against the hosts.
    const baselineProcesses = descendants(endpoint.pid).length;

    const readyMs: number[] = [];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: DROPLETS / 10 }, async (_, batch) => {
        const t0 = Date.now();
        const names = Array.from({ length: 10 }, (_, i) => `host-${batch * 10 + i}`);
        const { droplets } = await api<{ droplets: { id: number }[] }>(endpoint, 'POST', '/v2/droplets', {
          names,
          region: 'fra1',
          size: 's-1vcpu-1gb',
          image: 'debian-12-x64',
          ssh_keys: [ssh_key.id],
        });
        await Promise.all(
          droplets.map(async (d) => {
            let address: string | undefined;
            const poll = setInterval(() => {
              api<{ droplet: { networks: { v4: { type: string; ip_address: string }[] } } }>(endpoint, 'GET', `/v2/droplets/${d.id}`).then(
                (r) => {
                  address = r.droplet.networks.v4.find((n) => n.type === 'public')?.ip_address;
                },
                () => undefined,
              );
            }, 50);
            await untilSsh(() => address, key.private);
            clearInterval(poll);
            readyMs.push(Date.now() - t0);
          }),
        );
      }),
    );
    const allReadyMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 2000)); // idle
    const loadedMb = rssMb(endpoint.pid);
    const processes = descendants(endpoint.pid).length - baselineProcesses;
    const perHostMb = (loadedMb - baselineMb) / DROPLETS;
    const diskKb = Number(execFileSync('du', ['-sk', path.join(stateDir, 'localcloud', 'hosts')], { encoding: 'utf8' }).split('\t')[0]);

    const file = writeResults(
      'localcloud-hosts',
      `Local cloud: ${DROPLETS} droplets as SSH hosts`,
      [
        { measure: 'create → SSH answers `true`, median', value: `${percentile(readyMs, 50)} ms`, verdict: 'info' },
        { measure: 'create → SSH answers `true`, p95', value: `${percentile(readyMs, 95)} ms`, verdict: 'info' },
        { measure: `all ${DROPLETS} SSH-ready`, value: `${allReadyMs} ms`, verdict: 'info' },
        { measure: 'local cloud RSS with 0 droplets', value: `${baselineMb.toFixed(0)} MB`, verdict: 'info' },
        {
          measure: `local cloud RSS with ${DROPLETS} idle droplet hosts`,
          value: `${loadedMb.toFixed(0)} MB`,
          baseline: `${baselineMb.toFixed(0)} MB`,
          ratio: (loadedMb / baselineMb).toFixed(2),
          target: `< ${TARGET_TOTAL_MB} MB in all`,
          verdict: loadedMb < TARGET_TOTAL_MB ? 'met' : 'missed',
        },
        {
          measure: 'memory per idle droplet host',
          value: `${perHostMb.toFixed(2)} MB`,
          target: `< ${(TARGET_TOTAL_MB / DROPLETS).toFixed(0)} MB`,
          verdict: perHostMb < TARGET_TOTAL_MB / DROPLETS ? 'met' : 'missed',
        },
        { measure: 'processes kept by idle hosts', value: String(processes), verdict: 'info' },
        { measure: `disk for ${DROPLETS} droplet folders`, value: `${(diskKb / 1024).toFixed(1)} MB`, verdict: 'info' },
      ],
      [
        "Fast timing: a droplet becomes active 1 s after its create call (the API's own delay), then its SSH daemon listens.",
        'A droplet host at rest is an ssh2 server object on its own address and a folder; commands run in bubblewrap only while they run, so idle hosts hold no processes.',
        "Memory is the local cloud process's resident set (VmRSS), read from /proc, after 2 s idle.",
      ],
    );
    console.log(readFileSync(file, 'utf8'));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(stateDir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
