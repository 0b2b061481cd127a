// `opsflow up`, `status` and `doctor` end to end, as a newcomer runs them: a real dev server with
// its Web UI, a real worker process that provisions stack A whole on the local cloud (with a deploy
// key and a database password it made itself), history that survives a restart, and a clean Ctrl-C.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { isPortInUse } from '../../src/devstack/ports';
import { connect, exec } from '../helpers/droplet-host';
import { temporalCliPath } from '../helpers/temporal';
import { exitOf, freePort, runCli, startCli } from '../helpers/processes';
import { tempDir } from '../helpers/temp';

// Each up provisions stack A whole (SSH, bootstrap, compose, health gate) before it says it runs.
jest.setTimeout(8 * 60_000);

let env: NodeJS.ProcessEnv;
let ports: { port: number; uiPort: number; metricsPort: number; localcloudPort: number };
let upArgs: string[];
const stateDir = tempDir('up');

beforeAll(async () => {
  mkdirSync(path.join(stateDir, 'ssh'), { mode: 0o755 }); // as versions before made it
  chmodSync(path.join(stateDir, 'ssh'), 0o755);
  ports = { port: await freePort(), uiPort: await freePort(), metricsPort: await freePort(), localcloudPort: await freePort() };
  upArgs = [
    'up',
    '--port',
    String(ports.port),
    '--ui-port',
    String(ports.uiPort),
    '--metrics-port',
    String(ports.metricsPort),
    '--localcloud-port',
    String(ports.localcloudPort),
  ];
  env = {
    ...process.env,
    OPSFLOW_STATE_DIR: stateDir,
    // Its droplets get their own loopback network, apart from a developer's `npm start` (127.100.x.y).
    OPSFLOW_LOCALCLOUD_HOST_NETWORK: '99',
    TEMPORAL_CLI_PATH: temporalCliPath(),
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.port}`,
    DIGITALOCEAN_TOKEN: '',
    // A fresh machine: up makes the deploy key and the database password itself.
    OPSFLOW_SSH_KEYS: '',
    STACK_A_POSTGRES_PASSWORD: '',
  };
});

const deployKeyFile = () => path.join(stateDir, 'ssh', 'deploy');
const passwordFile = () => path.join(stateDir, 'secrets', 'STACK_A_POSTGRES_PASSWORD');

function listWorkflows(): string {
  return execFileSync(temporalCliPath(), ['workflow', 'list', '--address', `127.0.0.1:${ports.port}`], { encoding: 'utf8' });
}

test('up serves the Web UI, runs a first workflow, notices a second up, and stops on Ctrl-C', async () => {
  const { child, output } = await startCli(upArgs, env, 'Press Ctrl-C', 300_000);
  try {
    // The demo: stack A whole on the local cloud, and where to watch it.
    const out = output();
    expect(out).toContain(`Created the deploy SSH key ${deployKeyFile()} (ed25519)`);
    expect(out).toContain(`Generated stack A's database password into ${passwordFile()}`);
    expect(out).toContain('Its droplets answer SSH on port 22');
    // Which host network it took and why, remembered for the next start (issue 13 item 3).
    expect(out).toContain(
      `  Host network 99: droplets get 127.99.x.y (set by OPSFLOW_LOCALCLOUD_HOST_NETWORK); kept for restarts in ${path.join(stateDir, 'localcloud', 'host-network')}.`,
    );
    expect(out).toContain(`Watch it in the Web UI: http://127.0.0.1:${ports.uiPort}/namespaces/default/workflows/provision-stack-a`);
    expect(out).toMatch(/Environment stack-a is provisioned\.\n/);
    const address = /droplet +stack-a-app \(\d+\) +public (127\.99\.\d+\.\d+) +private 10\.10\.\d+\.\d+ +host key SHA256:/.exec(
      out,
    )?.[1] as string;
    expect(address).toBeDefined();
    expect(out).toMatch(/volume +stack-a-pgdata \(\S+\) on stack-a-app, mounted at \/mnt\/pgdata\n/);
    // Reserved IPs come from the cloud's own host network, above the droplets' third octets.
    expect(out).toMatch(/reserved IP 127\.99\.25\d\.\d+\n/);
    expect(out).toContain(`ssh -i ${deployKeyFile()} -p 22 root@${address}`);
    const ports5 = [3000, 8081, 8082, 8083, 8084];
    for (const port of ports5) expect(out).toContain(`healthy     http://${address}:${port}/health`);

    // Made once, private to this user; the password never shows in the output.
    expect(statSync(deployKeyFile()).mode & 0o777).toBe(0o600);
    expect(statSync(passwordFile()).mode & 0o777).toBe(0o600);
    // Its folders too (0700), the ssh folder tightened from the 0755 an older version left.
    const folders = ['.', 'ssh', 'secrets', 'localcloud', 'localcloud/hosts'].map((dir) => path.join(stateDir, dir));
    expect(folders.map((dir) => [dir, (statSync(dir).mode & 0o777).toString(8)])).toEqual(folders.map((dir) => [dir, '700']));
    const password = readFileSync(passwordFile(), 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(out).not.toContain(password);

    // Five services answer, and PostgreSQL takes the generated password at the droplet's address.
    for (const port of ports5) expect((await fetch(`http://${address}:${port}/health`)).status).toBe(200);
    const { client: ssh } = await connect({ id: 0, address, port: 22, region: 'fra1' }, readFileSync(deployKeyFile(), 'utf8'));
    try {
      const ps = await exec(ssh, "cd /opt/app && docker compose ps --format '{{.Service}} {{.State}}'");
      expect(ps.stdout.trim().split('\n').sort()).toEqual([
        'auth running',
        'booking running',
        'fleet running',
        'frontend running',
        'payment running',
        'postgres running',
      ]);
    } finally {
      ssh.end();
    }
    const query = execFileSync(
      'psql',
      ['-X', '-A', '-t', '-h', address, '-U', 'postgres', '-d', 'booking', '-c', 'SELECT current_database()'],
      { encoding: 'utf8', env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' } },
    );
    expect(query.trim()).toBe('booking');

    const firstId = /First workflow (\S+) completed/.exec(output())?.[1];
    expect(firstId).toMatch(/^check-worker-/);

    const ui = await fetch(`http://127.0.0.1:${ports.uiPort}/`);
    expect(ui.status).toBe(200);
    expect(listWorkflows()).toContain(firstId);

    const metrics = await (await fetch(`http://127.0.0.1:${ports.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/temporal_worker_start/);

    const workflowStatus = await runCli(['status', firstId as string], env);
    expect(workflowStatus.code).toBe(0);
    expect(workflowStatus.stdout).toContain('checkWorker  COMPLETED');
    expect(workflowStatus.stdout).toContain('state: completed');
    expect(workflowStatus.stdout).toContain('done: describe worker');

    const examples = path.join(__dirname, '..', '..', 'examples');
    // Provisioning again finds the demo's resources instead of making new ones.
    const provision = await runCli(['provision', path.join(examples, 'stack-a.yaml')], env);
    expect(provision.stderr).toBe('');
    expect(provision.code).toBe(0);
    expect(provision.stdout).toContain('Provisioning stack-a: workflow provision-stack-a');
    expect(provision.stdout).toMatch(/✔ create droplets/);
    expect(provision.stdout).toMatch(/\+ droplet +stack-a-app \d+/);
    expect(provision.stdout).toMatch(/Environment stack-a is provisioned\.\n[\s\S]*reserved IP 127\.99\.25\d\./);

    const badSpec = path.join(stateDir, 'bad.yaml');
    writeFileSync(badSpec, 'name: Bad_Name\nregion: fra1\ndroplets: []\nssh: { key: deploy }\n');
    const refused = await runCli(['provision', badSpec], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('invalid environment spec');
    expect(refused.stderr).toContain('name: must be lowercase');
    expect(refused.stderr).toContain('droplets: ');
    expect(refused.stderr).not.toMatch(/^\s+at /m);

    const destroy = await runCli(['destroy', 'stack-a', '--yes'], env);
    expect(destroy.code).toBe(0);
    expect(destroy.stdout).toContain('Removed 1 droplet(s), 1 volume(s), 1 firewall(s), 1 VPC(s), 1 reserved IP(s).');

    const faults = await runCli(['localcloud', 'faults', '--dark-region', 'fra1', '--seed', '7'], env);
    expect(faults.code).toBe(0);
    expect(JSON.parse(faults.stdout)).toMatchObject({ seed: 7, darkRegions: ['fra1'] });
    const status = await runCli(['localcloud', 'status'], env);
    expect(status.stdout).toContain(`Local cloud API: http://127.0.0.1:${ports.localcloudPort}`);
    expect(status.stdout).toContain(`Spaces (S3):     http://127.0.0.1:${ports.localcloudPort + 1}`);
    expect((await runCli(['localcloud', 'reset'], env)).stdout).toContain('Local cloud emptied.');

    const again = await runCli(upArgs, env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`opsflow stack already running (pid ${child.pid}`);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exitOf(child)).toBe(0);
  expect(output()).toContain('worker stopped.');
  expect(output()).toContain('local cloud stopped.');
  expect(output()).toContain('Prometheus stopped.');
  expect(output()).toContain('Temporal dev server stopped.');
  expect(await isPortInUse('127.0.0.1', ports.port)).toBe(false);
  expect(existsSync(path.join(stateDir, 'stack.json'))).toBe(false);
});

test('a restarted stack still has the earlier history, and doctor reports every check', async () => {
  const password = readFileSync(passwordFile(), 'utf8');
  const { child, output } = await startCli(upArgs, env, 'Press Ctrl-C', 300_000);
  try {
    // The key and the password were made once: the restart reuses them and provisions again.
    expect(output()).not.toContain('Created the deploy SSH key');
    expect(output()).not.toContain('Generated stack A');
    expect(readFileSync(passwordFile(), 'utf8')).toBe(password);
    expect(output()).toMatch(/Environment stack-a is provisioned\.\n/);
    // Two checkWorker runs now: the one from the first start survived the restart.
    expect(listWorkflows().match(/checkWorker/g)?.length).toBeGreaterThanOrEqual(2);

    // The CLI learns the local cloud as any endpoint: from DIGITALOCEAN_API_URL and DIGITALOCEAN_TOKEN,
    // else (neither set) from the stack up recorded. Half of the pair is refused, saying what to set.
    const halfSet = await runCli(['doctor'], { ...env, DIGITALOCEAN_API_URL: `http://127.0.0.1:${ports.localcloudPort}` });
    expect(halfSet.stdout).toMatch(
      /^fail +digitalocean +DIGITALOCEAN_API_URL is http:\/\/127\.0\.0\.1:\d+ but no DIGITALOCEAN_TOKEN is set: set DIGITALOCEAN_TOKEN .*for the local cloud, set DIGITALOCEAN_API_URL to its API URL and DIGITALOCEAN_TOKEN to the token in its folder/m,
    );
    expect(halfSet.code).toBe(1);
    const doctor = await runCli(['doctor'], env);
    expect(doctor.stdout).toMatch(/^ok +temporal +reached 127\.0\.0\.1:\d+ namespace default/m);
    expect(doctor.stdout).toMatch(/^ok +search attributes +OpsEnvironment, OpsOperation, OpsCloud/m);
    expect(doctor.stdout).toMatch(/^ok +worker +1 worker\(s\) polling task queue opsflow/m);
    expect(doctor.stdout).toMatch(/^ok +worker round trip +check-worker-\S+ ran on/m);
    expect(doctor.stdout).toMatch(
      new RegExp(`^ok +digitalocean +token accepted by http://127\\.0\\.0\\.1:${ports.localcloudPort} \\(account ops@opsflow\\.local`, 'm'),
    );
    expect(doctor.stdout).toMatch(/^warn +ssh keys +none configured/m);
    expect(doctor.code).toBe(0);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exitOf(child)).toBe(0);
});

test('doctor against a wrong DigitalOcean token says it was refused, with no stack trace', async () => {
  // A local endpoint that answers as DigitalOcean does to a bad token.
  const server = http.createServer((req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'Unauthorized', message: 'Unable to authenticate you' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  try {
    const doctor = await runCli(['doctor'], {
      ...env,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      DIGITALOCEAN_TOKEN: 'dop_v1_wrong',
      DIGITALOCEAN_API_URL: `http://127.0.0.1:${port}`,
    });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(
      /^fail +digitalocean +the token was refused \(401 Unauthorized\); set DIGITALOCEAN_TOKEN to a valid personal access token$/m,
    );
    expect(doctor.stdout).toMatch(/^fail +temporal +cannot reach Temporal at 127\.0\.0\.1:1/m);
    expect(doctor.stdout + doctor.stderr).not.toMatch(/^\s+at /m);
    expect(doctor.stdout + doctor.stderr).not.toContain('dop_v1_wrong');
  } finally {
    server.close();
  }
});
