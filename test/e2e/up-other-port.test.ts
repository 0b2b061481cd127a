// `opsflow up --port <not 7233>`, then the other commands with no TEMPORAL_ADDRESS and no Temporal
// config profile: they find the stack through the record `up` keeps in the state folder. Explicit
// settings still win, a connection failure names the address it tried, and a record left by a
// stack that is gone is ignored with a note. Real dev server, local cloud and worker (no demo).
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exitOf, freePort, runCli, startCli } from '../helpers/processes';
import { temporalCliPath } from '../helpers/temporal';
import { tempDir } from '../helpers/temp';

jest.setTimeout(5 * 60_000);

test('every command finds a stack started on other ports, by itself', async () => {
  const stateDir = tempDir('up-port');
  const ports = { port: await freePort(), uiPort: await freePort(), metricsPort: await freePort(), localcloudPort: await freePort() };
  const address = `127.0.0.1:${ports.port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPSFLOW_STATE_DIR: stateDir,
    // Its droplets get a loopback network of their own, apart from other stacks on this machine.
    OPSFLOW_LOCALCLOUD_HOST_NETWORK: '97',
    TEMPORAL_CLI_PATH: temporalCliPath(),
    // Nothing says where Temporal is: no variable, no profile in a config file.
    TEMPORAL_ADDRESS: undefined,
    TEMPORAL_PROFILE: undefined,
    TEMPORAL_CONFIG_FILE: path.join(stateDir, 'no-temporal-config.toml'),
    DIGITALOCEAN_TOKEN: undefined,
    DIGITALOCEAN_API_URL: undefined,
    OPSFLOW_SSH_KEYS: '',
  };
  const upArgs = [
    'up',
    '--no-demo',
    '--port',
    String(ports.port),
    '--ui-port',
    String(ports.uiPort),
    '--metrics-port',
    String(ports.metricsPort),
    '--localcloud-port',
    String(ports.localcloudPort),
  ];
  const recordFile = path.join(stateDir, 'stack.json');

  const { child, output } = await startCli(upArgs, env, 'Press Ctrl-C', 180_000);
  try {
    // The hint checks the port in use: plain doctor finds it, so no TEMPORAL_ADDRESS in front.
    expect(output()).toContain('\n  Diagnose:          npx opsflow doctor\n');

    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(recordFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(recordFile, 'utf8'))).toEqual({
      pid: child.pid,
      address,
      uiUrl: `http://127.0.0.1:${ports.uiPort}`,
      metricsUrl: `http://127.0.0.1:${ports.metricsPort}/metrics`,
      localcloudUrl: `http://127.0.0.1:${ports.localcloudPort}`,
      localcloudTokenFile: path.join(stateDir, 'localcloud', 'token'),
      prometheusUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      prometheusTargetsFile: path.join(stateDir, 'prometheus', 'targets.json'),
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    // The local stack's Prometheus answers where the record says.
    const { prometheusUrl } = JSON.parse(readFileSync(recordFile, 'utf8')) as { prometheusUrl: string };
    expect((await fetch(`${prometheusUrl}/-/ready`)).ok).toBe(true);

    const doctor = await runCli(['doctor'], env);
    expect(doctor.stdout).toMatch(new RegExp(`^ok +temporal +reached ${address.replace(/\./g, '\\.')} namespace default \\(server `, 'm'));
    expect(doctor.stdout).toMatch(/^ok +worker +1 worker\(s\) polling task queue opsflow/m);
    expect(doctor.stdout).toMatch(/^ok +worker round trip +check-worker-\S+ ran on/m);
    // No DIGITALOCEAN_* variable either: the local cloud comes from the record too.
    expect(doctor.stdout).toMatch(
      new RegExp(`^ok +digitalocean +token accepted by http://127\\.0\\.0\\.1:${ports.localcloudPort} \\(account `, 'm'),
    );
    expect(doctor.code).toBe(0);

    const firstId = /First workflow (\S+) completed/.exec(output())?.[1] as string;
    expect(firstId).toMatch(/^check-worker-/);
    const status = await runCli(['status', firstId], env);
    expect(status.stderr).toBe('');
    expect(status.stdout).toContain('checkWorker  COMPLETED');
    expect(status.code).toBe(0);

    // An explicit address wins over the record, and a failure names it and how to change it.
    const closed = `127.0.0.1:${await freePort()}`;
    const explicit = await runCli(['status', firstId], { ...env, TEMPORAL_ADDRESS: closed });
    expect(explicit.code).toBe(1);
    expect(explicit.stderr).toContain(`cannot reach Temporal at ${closed} (address from TEMPORAL_ADDRESS): `);
    expect(explicit.stderr).toContain('opsflow up --port <port>');
    expect(explicit.stderr).not.toMatch(/^\s+at /m);

    // A second up finds the first and says where everything is.
    const again = await runCli(upArgs, env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`opsflow stack already running (pid ${child.pid}`);
    expect(again.stdout).toContain(
      `Temporal: ${address}   Web UI: http://127.0.0.1:${ports.uiPort}   local cloud: http://127.0.0.1:${ports.localcloudPort}`,
    );
  } finally {
    child.kill('SIGINT');
  }
  expect(await exitOf(child)).toBe(0);
  const stalePid = child.pid as number;
  expect(() => statSync(recordFile)).toThrow(/ENOENT/);

  // A record whose up was killed (not stopped) is ignored, with a note; its address is not tried.
  writeFileSync(
    recordFile,
    JSON.stringify({ pid: stalePid, address, uiUrl: `http://127.0.0.1:${ports.uiPort}`, startedAt: '2026-12-01T00:00:00.000Z' }),
    { mode: 0o600 },
  );
  const stale = await runCli(['status', 'check-worker-none'], env);
  expect(stale.stderr).toContain(
    `opsflow: ignoring ${recordFile}: the stack it records (Temporal at ${address}, started 2026-12-01T00:00:00.000Z by pid ${stalePid}) is no longer running`,
  );
  expect(stale.stderr).not.toContain(`cannot reach Temporal at ${address}`);
  expect(stale.code).toBe(1);
});
