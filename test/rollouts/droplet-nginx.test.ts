// Debian's real nginx inside a local cloud droplet, driven over real SSH as a deploy would drive
// it: `apt-get install -y nginx-light` installs and starts it, `systemctl` and `nginx -t`/`-s
// reload` work as on Debian, and it proxies to two other droplets' applications (tags 1.0 and
// 1.1) by weighted upstreams: 9:1 splits 200 requests exactly 180/20 (counted by the responses
// and by each application's own /metrics), re-weighted with `nginx -t && systemctl reload nginx`
// to 1:1. A broken file fails `nginx -t` and the running nginx keeps serving. opsflow's own
// NginxRouter over SshConfigHost writes /etc/nginx/opsflow/app.conf there, which nginx.conf includes.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalCloud } from '@opsflow/localcloud';
import { connect, type SshConnection } from '../../src/integrations/ssh';
import { generateLoad, type LoadTally } from '../../src/rollouts/load-generator';
import { renderUpstream } from '../../src/rollouts/traffic/nginx-config';
import { NginxConfigRefusedError, NginxRouter } from '../../src/rollouts/traffic/nginx-router';
import { SshConfigHost } from '../../src/rollouts/traffic/ssh-config-host';
import { createHostDroplet, fingerprintOf, registerKey, type TestDroplet } from '../helpers/droplet-host';
import { startLocalCloud } from '../helpers/localcloud';
import { generateEd25519 } from '../helpers/ssh-keys';
import { until } from '../helpers/until';

jest.setTimeout(180_000);

const key = generateEd25519();
const APP_PORT = 8080;
const UPSTREAM_FILE = '/etc/nginx/opsflow/app.conf';
let cloud: LocalCloud;
let stateDir: string;
let front: TestDroplet;
let apps: TestDroplet[];
let ssh: SshConnection;
let layout: { upstream: string; stable: string[]; canary: string[] };
let router: NginxRouter;

async function sshTo(droplet: TestDroplet, stateDir: string): Promise<SshConnection> {
  const publicHostKey = readFileSync(path.join(stateDir, 'hosts', String(droplet.id), 'ssh_host_ed25519_key.pub'), 'utf8').trim();
  return connect({
    host: droplet.address,
    port: droplet.port,
    username: 'root',
    privateKey: key.private,
    hostKey: { pinned: [fingerprintOf(publicHostKey)] },
  });
}

async function ok(connection: SshConnection, script: string): Promise<string> {
  const result = await connection.execScript(script, [], { timeoutMs: 60_000 });
  if (result.exitCode !== 0) throw new Error(`\`${script}\` exited ${result.exitCode}: ${result.stdoutTail}${result.stderrTail}`);
  return result.stdoutTail;
}

/** nginx's workers now, as the droplet sees them (the master's children, by its pid file). */
async function workers(): Promise<string[]> {
  return (await ok(ssh, 'cat /proc/$(cat /run/nginx.pid)/task/$(cat /run/nginx.pid)/children')).trim().split(/\s+/).filter(Boolean);
}

/** Waits until no worker of `before` is left (a reload's old workers finish and go), so every new connection meets the new split. */
async function oldWorkersGone(before: string[]): Promise<void> {
  await until(
    'the old nginx workers to end after the reload',
    async () => {
      const now = await workers();
      return now.length > 0 && now.every((pid) => !before.includes(pid)) ? true : undefined;
    },
    30_000,
  );
}

function versions(count: number): Promise<LoadTally> {
  return generateLoad(`http://${front.address}/version`, { total: count });
}

async function appRequests(app: TestDroplet, version: string): Promise<number> {
  const text = await (await fetch(`http://${app.address}:${APP_PORT}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`http_requests_total{version="${version}",code="200"} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

beforeAll(async () => {
  let api;
  ({ cloud, api, stateDir } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  const keyId = await registerKey(api, 'deploy', key.public);
  const droplets = await Promise.all(['web', 'app-a', 'app-b'].map((name) => createHostDroplet(cloud, api, name, [keyId])));
  [front, ...apps] = droplets as [TestDroplet, ...TestDroplet[]];
  ssh = await sshTo(front, stateDir);
  await Promise.all(
    apps.map(async (app, i) => {
      const connection = await sshTo(app, stateDir);
      await ok(connection, `docker run -d --name app -p ${APP_PORT}:80 ghcr.io/acme/shop:${['1.0', '1.1'][i]}`);
      connection.close();
    }),
  );
  layout = { upstream: 'app', stable: [`${apps[0]!.address}:${APP_PORT}`], canary: [`${apps[1]!.address}:${APP_PORT}`] };
  router = new NginxRouter({
    host: new SshConfigHost(ssh),
    layout,
    upstreamFile: UPSTREAM_FILE,
    confirmReload: { pidFile: '/run/nginx.pid' },
  });
});

afterAll(async () => {
  ssh?.close();
  await cloud?.stop();
});

test('apt-get install -y nginx-light installs and starts Debian nginx in the droplet, on its address, port 80', async () => {
  const installed = await ok(ssh, 'apt-get install -y nginx-light');
  expect(installed).toContain('Setting up nginx-light');
  expect(installed).toContain('Created symlink /etc/systemd/system/multi-user.target.wants/nginx.service');
  expect(await ok(ssh, 'systemctl is-active nginx')).toBe('active\n');
  expect(await ok(ssh, 'nginx -t 2>&1')).toContain('test is successful');
  const welcome = await fetch(`http://${front.address}/`);
  expect(welcome.status).toBe(200);
  expect(await welcome.text()).toContain('Welcome to nginx!');
  expect(await ok(ssh, 'grep -c "include /etc/nginx/opsflow/\\*.conf;" /etc/nginx/nginx.conf')).toBe('1\n');
  // The master runs in the droplet's own pid namespace as the droplet's root, its workers as www-data.
  expect(await ok(ssh, 'ps -o user=,args= -p $(cat /run/nginx.pid) --ppid $(cat /run/nginx.pid)')).toMatch(
    /^root +nginx: master process \/usr\/sbin\/nginx[^\n]*\nwww-data +nginx: worker process\n$/,
  );
  // On the machine, that master is the droplet's root: an unprivileged uid, not the machine's root.
  const inDroplet = (await ok(ssh, 'cat /run/nginx.pid')).trim();
  const hostUids = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const nspid = /^NSpid:\s+(.*)$/m.exec(status)![1]!.trim().split(/\s+/);
        const named = readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('nginx: master process');
        return named && nspid.length > 1 && nspid.at(-1) === inDroplet ? [Number(/^Uid:\s+(\d+)/m.exec(status)![1])] : [];
      } catch {
        return []; // ended meanwhile
      }
    });
  expect(hostUids.length).toBeGreaterThan(0);
  for (const uid of hostUids) expect(uid).toBeGreaterThan(65535);
  // `listen 80` (every address of the machine) is refused by nginx -t, with what to write instead.
  await ssh.putFile('/etc/nginx/conf.d/everywhere.conf', 'server { listen 80; }\n');
  const everywhere = await ssh.execScript('nginx -t', [], { timeoutMs: 30_000 });
  await ok(ssh, 'rm /etc/nginx/conf.d/everywhere.conf');
  expect(everywhere.exitCode).toBe(1);
  expect(everywhere.stderrTail).toContain('bind() to 0.0.0.0:80 failed (13: Permission denied)');
  expect(everywhere.stderrTail).toContain(`listen on this droplet's address, \`listen ${front.address}:80;\``);
  const status = await ok(ssh, 'systemctl status nginx');
  expect(status).toMatch(/Active: active \(running\)/);
});

test('NginxRouter over SSH writes the upstream; the site proxies to the apps: 9:1 is exactly 180/20 by response and by /metrics', async () => {
  await router.setWeights({ stable: 90, canary: 10 });
  await ssh.putFile(
    '/etc/nginx/sites-available/shop',
    `server {\n\tlisten ${front.address}:80 default_server;\n\tlocation / { proxy_pass http://app; proxy_next_upstream off; }\n}\n`,
  );
  const before = await workers();
  await ok(ssh, 'rm /etc/nginx/sites-enabled/default && ln -s /etc/nginx/sites-available/shop /etc/nginx/sites-enabled/shop');
  await ok(ssh, 'nginx -t && systemctl reload nginx');
  await oldWorkersGone(before);

  const tally = await versions(200);
  expect(tally.failures).toEqual([]);
  expect(tally.byBody).toEqual({ '1.0\n': 180, '1.1\n': 20 });
  expect(await appRequests(apps[0]!, '1.0')).toBe(180);
  expect(await appRequests(apps[1]!, '1.1')).toBe(20);
  expect(await router.currentWeights()).toEqual({ stable: 90, canary: 10 });
});

test('re-weighted by hand with nginx -t && systemctl reload nginx: 1:1 is exactly 100/100', async () => {
  await ssh.putFile(UPSTREAM_FILE, renderUpstream(layout, { stable: 50, canary: 50 }));
  const before = await workers();
  // nginx -t takes the droplet's port 80 beside the running master at any moment, a reload's included.
  await ok(ssh, 'nginx -t && systemctl reload nginx && for i in 1 2 3 4 5; do nginx -t -q || exit 1; done');
  await oldWorkersGone(before);
  const tally = await versions(200);
  expect(tally.byBody).toEqual({ '1.0\n': 100, '1.1\n': 100 });
  expect(await appRequests(apps[0]!, '1.0')).toBe(280);
  expect(await appRequests(apps[1]!, '1.1')).toBe(120);
});

test('a broken configuration fails nginx -t, and the running nginx keeps serving the last good split', async () => {
  const good = await ok(ssh, `cat ${UPSTREAM_FILE}`);
  const workersBefore = await workers();
  await ssh.putFile(UPSTREAM_FILE, 'upstream app {\n    server nosuch.invalid:8080 weight=1\n}\n');
  const check = await ssh.execScript('nginx -t', [], { timeoutMs: 30_000 });
  expect(check.exitCode).toBe(1);
  expect(check.stderrTail).toContain('test failed');
  // As on Debian, systemctl reload (nginx -s reload) refuses a file nginx cannot parse.
  const reload = await ssh.execScript('systemctl reload nginx', [], { timeoutMs: 30_000 });
  expect(reload.exitCode).toBe(1);
  expect(reload.stderrTail).toContain('Job for nginx.service failed because the control process exited with error code (ExecReload');
  // A SIGHUP anyway: the master refuses the file, logs why and keeps its workers.
  await ok(ssh, 'kill -HUP $(cat /run/nginx.pid)');
  await until('nginx to log its refusal', async () =>
    (await ok(ssh, 'cat /var/log/nginx/error.log')).includes('[emerg]') ? true : undefined,
  );
  expect((await versions(100)).byBody).toEqual({ '1.0\n': 50, '1.1\n': 50 });
  expect(await workers()).toEqual(workersBefore);
  await ssh.putFile(UPSTREAM_FILE, good);

  // The router refuses the same way and puts its file back.
  const broken = new NginxRouter({
    host: new SshConfigHost(ssh),
    layout: { ...layout, canary: ['nosuch.invalid:8080'] },
    upstreamFile: UPSTREAM_FILE,
  });
  await expect(broken.setWeights({ stable: 10, canary: 90 })).rejects.toThrow(NginxConfigRefusedError);
  expect(await ok(ssh, `cat ${UPSTREAM_FILE}`)).toBe(good);
  expect((await versions(20)).byBody).toEqual({ '1.0\n': 10, '1.1\n': 10 });
});

test('systemctl stop, start and restart: port 80 closes and comes back; is-active says so', async () => {
  await ok(ssh, 'systemctl stop nginx');
  const inactive = await ssh.execScript('systemctl is-active nginx', [], { timeoutMs: 30_000 });
  expect([inactive.exitCode, inactive.stdoutTail]).toEqual([3, 'inactive\n']);
  await expect(fetch(`http://${front.address}/version`)).rejects.toThrow();
  await ok(ssh, 'systemctl start nginx');
  expect((await versions(20)).byBody).toEqual({ '1.0\n': 10, '1.1\n': 10 });
  const master = (await ok(ssh, 'cat /run/nginx.pid')).trim();
  await ok(ssh, 'systemctl restart nginx');
  expect((await ok(ssh, 'cat /run/nginx.pid')).trim()).not.toBe(master);
  expect((await versions(20)).byBody).toEqual({ '1.0\n': 10, '1.1\n': 10 });
});

test('a restart of the local cloud brings nginx back with its split; apt-get remove stops it', async () => {
  ssh.close();
  await cloud.stop();
  ({ cloud } = await startLocalCloud({ stateDir, rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  for (const droplet of [front, ...apps]) expect(await cloud.hosts!.ready(droplet.id)).toBe(true);
  ssh = await sshTo(front, stateDir);
  await until('nginx to serve again after the restart', async () =>
    (await ok(ssh, 'systemctl is-active nginx || true')) === 'active\n' ? true : undefined,
  );
  expect((await versions(20)).byBody).toEqual({ '1.0\n': 10, '1.1\n': 10 });

  expect(await ok(ssh, 'apt-get remove -y nginx-light')).toContain('Removing nginx-light');
  const inactive = await ssh.execScript('systemctl is-active nginx', [], { timeoutMs: 30_000 });
  expect([inactive.exitCode, inactive.stdoutTail]).toEqual([3, 'inactive\n']);
  await expect(fetch(`http://${front.address}/version`)).rejects.toThrow();
  const gone = await ssh.execScript('nginx -t', [], { timeoutMs: 30_000 });
  expect([gone.exitCode, gone.stderrTail]).toEqual([127, 'bash: nginx: command not found (apt-get install nginx)\n']);
});
