// A pod's container never outlives the local cloud that started it, even when the cloud is
// SIGKILLed (no stop, no cleanup): setpriv gives bwrap a parent-death SIGKILL, bwrap gives the
// container one, and the container is the only process of its pid namespace. Its address stops
// answering with it. Also: what the container may do in its sandbox (write its own root only, as
// its own uid, no capability but binding low ports).
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import type { HostNetworkClaim } from '../../src/hosts/isolation/network-claim';
import { podBlocks, podUid } from '../../src/kubernetes/pod-runner/pod-network';
import { claimFreeHostNetwork } from '../../../../test/helpers/localcloud';
import { tempDir } from '../../../../test/helpers/temp';
import { until } from '../../../../test/helpers/until';

const run = promisify(execFile);
let claim: HostNetworkClaim;

beforeAll(async () => {
  claim = await claimFreeHostNetwork();
});
afterAll(async () => {
  // A killed cloud leaves its routes (the next cloud on the network takes them over); this test's go.
  for (const block of podBlocks(claim.network))
    await run('ip', ['route', 'del', 'local', block, 'dev', 'lo', 'table', 'local']).catch(() => undefined);
  await claim?.release();
});

test('a SIGKILLed parent takes its pod containers with it; the container is confined to its own root and uid', async () => {
  const dir = tempDir('pod-lifetime');
  const parent = spawn(
    process.execPath,
    ['--require', 'tsx/cjs', path.join(__dirname, '..', 'fixtures', 'pod-container-parent.ts'), dir, String(claim.network)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: parent.stdout! }).once('line', resolve);
    parent.once('exit', (code) => reject(new Error(`the parent exited (${code}) before its container listened`)));
  });
  const { address, pids } = JSON.parse(line) as { address: string; pids: number[] };
  expect(pids).toHaveLength(3); // bwrap, its pid namespace's init, the container
  const [bwrap, init, container] = pids as [number, number, number];
  expect((await fetch(`http://${address}:8080/health`)).status).toBe(200);

  // Confined: the pod's own uid, no capability but binding ports below 1024, no new privileges,
  // alone in its pid namespace.
  const status = readFileSync(`/proc/${container}/status`, 'utf8');
  const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '';
  expect(field('Uid').split(/\s+/).map(Number)).toEqual(Array(4).fill(podUid(claim.network, address)));
  expect(field('CapEff')).toBe('0000000000000400'); // CAP_NET_BIND_SERVICE only
  expect(field('CapBnd')).toBe('0000000000000400');
  expect(field('NoNewPrivs')).toBe('1');
  // In a pid namespace of its own, under bwrap's init.
  expect(field('NSpid').split(/\s+/)).toEqual([String(container), '2']);
  expect(field('PPid')).toBe(String(init));
  expect(readFileSync(`/proc/${container}/cmdline`, 'utf8')).toContain(`--pod-dir=${path.join(dir, 'pod')}`);

  parent.kill('SIGKILL');
  await until(
    'the container and its bwrap gone',
    async () => (pids.every((pid) => !existsSync(`/proc/${pid}`)) ? true : undefined),
    10_000,
  );
  await expect(fetch(`http://${address}:8080/health`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  expect(existsSync(`/proc/${bwrap}`)).toBe(false);
}, 120_000);
