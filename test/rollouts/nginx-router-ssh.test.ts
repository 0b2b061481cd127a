// The nginx router on a host reached over REAL SSH (OpenSSH's sshd on loopback; its "remote" files
// are this machine's, so the real nginx here is the droplet's nginx): weights applied by writing
// the file over SFTP, running `nginx -t` and `nginx -s reload` as argv, the reload confirmed from /proc.
import { readFileSync } from 'node:fs';
import { connect, type SshConnection } from '../../src/integrations/ssh';
import { renderUpstream } from '../../src/rollouts/traffic/nginx-config';
import { NginxConfigRefusedError, NginxRouter } from '../../src/rollouts/traffic/nginx-router';
import { SshConfigHost } from '../../src/rollouts/traffic/ssh-config-host';
import { generateEd25519 } from '../helpers/ssh-keys';
import { startSshd, type Sshd } from '../helpers/sshd';
import { sequential, startNamedServer, type NamedServer } from './helpers/http-load';
import { NGINX, reloadDone, startNginx, type NginxInstance } from './helpers/nginx-instance';

jest.setTimeout(90_000);

const key = generateEd25519();
let sshd: Sshd;
let conn: SshConnection;
let stable: NamedServer;
let canary: NamedServer;
let nginx: NginxInstance;
let router: NginxRouter;
let layout: { upstream: string; stable: string[]; canary: string[] };

beforeAll(async () => {
  sshd = await startSshd({ authorizedKeys: [key.public] });
  conn = await connect({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey: key.private,
    hostKey: { pinned: [sshd.hostFingerprint] },
  });
  stable = await startNamedServer('stable');
  canary = await startNamedServer('canary');
  layout = { upstream: 'app', stable: [stable.address], canary: [canary.address] };
  nginx = await startNginx('app', renderUpstream(layout, { stable: 100, canary: 0 }));
  router = new NginxRouter({
    host: new SshConfigHost(conn),
    layout,
    upstreamFile: nginx.upstreamFile,
    nginx: NGINX,
    instanceArgs: nginx.instanceArgs,
    confirmReload: { pidFile: `${nginx.dir}/nginx.pid` },
  });
});

afterAll(async () => {
  conn?.close();
  await sshd?.stop();
  await nginx?.stop();
  await stable?.close();
  await canary?.close();
});

test('9:1 over SSH: exactly 180/20 of 200; the previous file kept; currentWeights read back over SSH', async () => {
  const before = nginx.workers();
  await router.setWeights({ stable: 90, canary: 10 });
  // Confirmed over SSH (nginx's /proc read on the host): a new worker runs when setWeights returns.
  expect(nginx.workers().some((pid) => !before.includes(pid))).toBe(true);
  await reloadDone(nginx, before);
  expect((await sequential(nginx.port, 200)).byBody).toEqual({ stable: 180, canary: 20 });
  expect(await router.currentWeights()).toEqual({ stable: 90, canary: 10 });
  expect(readFileSync(`${nginx.upstreamFile}.previous`, 'utf8')).toBe(renderUpstream(layout, { stable: 100, canary: 0 }));
});

test('a refused configuration over SSH is put back, nginx untouched', async () => {
  const inPlace = readFileSync(nginx.upstreamFile, 'utf8');
  const workers = nginx.workers();
  const broken = new NginxRouter({
    host: new SshConfigHost(conn),
    layout: { ...layout, canary: ['canary.invalid:8080'] },
    upstreamFile: nginx.upstreamFile,
    nginx: NGINX,
    instanceArgs: nginx.instanceArgs,
  });
  await expect(broken.setWeights({ stable: 50, canary: 50 })).rejects.toThrow(NginxConfigRefusedError);
  expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(inPlace);
  expect(nginx.workers()).toEqual(workers);
  expect((await sequential(nginx.port, 100)).byBody).toEqual({ stable: 90, canary: 10 });
});

test('a file that is not there reads as missing, not as empty', async () => {
  const host = new SshConfigHost(conn);
  expect(await host.read(`${nginx.dir}/no-such-file`)).toBeUndefined();
  expect(await host.read(nginx.upstreamFile)).toBe(readFileSync(nginx.upstreamFile, 'utf8'));
});
