// Commands joining a droplet's namespaces must not be killed by bubblewrap's own process dance.
// To join a pid namespace (--pidns) bwrap forks once more and lets the middle process exit(0);
// with --die-with-parent the command sets its parent-death signal just before exec, so a middle
// process that exits late (a loaded machine) SIGKILLs the command as it starts (issue 11: initdb,
// createdb and mkdir dying with status 137 under the full test run; traced with the kernel's
// signal_generate event: bwrap's exit_group sending SIGKILL to its fresh child).
// Here strace holds that order open on purpose: every exit_group waits 1 s and every execve 2 s,
// so the middle process always exits while the command is between its bwrap setup and its exec.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DropletNamespaces } from '../../src/hosts/isolation/namespaces';
import type { HostNetworkClaim } from '../../src/hosts/isolation/network-claim';
import { dropletUidBase } from '../../src/hosts/isolation/uid-range';
import { prepareEtcTemplate, prepareRoot, resolveBwrap, sandboxEnv, spawnInSandbox, type DropletSandbox } from '../../src/hosts/sandbox';
import { DropletServices } from '../../src/hosts/services/droplet-services';
import { fileSize, runInSandbox, SandboxedProcess, waitForLog } from '../../src/hosts/services/sandboxed-process';
import { claimFreeHostNetwork } from '../../../../test/helpers/localcloud';

const dir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-sandbox-lifetime-'));
let claim: HostNetworkClaim;
let sandbox: DropletSandbox;

/** strace -f delaying exits 1 s and execs 2 s (microseconds below), then exec'ing bwrap. */
const LATE_MIDDLE_PROCESS = [
  execFileSync('which', ['strace']).toString().trim(),
  '-f',
  '-qq',
  '-o',
  '/dev/null',
  '-e',
  'trace=execve,exit_group',
  '-e',
  'inject=exit_group:delay_enter=1000000',
  '-e',
  'inject=execve:delay_enter=2000000',
];

beforeAll(async () => {
  claim = await claimFreeHostNetwork();
  const isolation = await DropletNamespaces.create(dropletUidBase(claim.network, 7), resolveBwrap());
  sandbox = {
    dropletId: 9107,
    name: 'lifetime-1',
    root: path.join(dir, 'root'),
    address: `127.${claim.network}.250.17`,
    privateAddress: '10.250.0.17',
    shimDir: path.join(dir, 'shims'),
    isolation,
  };
  prepareEtcTemplate(path.join(dir, 'etc-template'));
  mkdirSync(sandbox.root, { recursive: true });
  await prepareRoot(sandbox, path.join(dir, 'etc-template'));
  DropletServices.writeShims(sandbox.shimDir);
}, 60_000);

afterAll(async () => {
  await sandbox?.isolation.close();
  await claim?.release();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

test('a setup command (runInSandbox) completes although bwrap’s middle process exits late', async () => {
  const result = await runInSandbox(sandbox, ['/bin/sh', '-c', 'echo done'], { env: sandboxEnv(), launcher: LATE_MIDDLE_PROCESS });
  expect(result).toEqual({ code: 0, stdout: 'done\n', stderr: '' });
}, 60_000);

test('a service (SandboxedProcess) starts and runs although bwrap’s middle process exits late', async () => {
  const logFile = path.join(sandbox.root, 'var', 'log', 'lifetime.log');
  const from = fileSize(logFile);
  const service = SandboxedProcess.spawn(sandbox, ['/bin/sh', '-c', 'echo serving; exec sleep 600'], {
    env: sandboxEnv(),
    logFile,
    launcher: LATE_MIDDLE_PROCESS,
  });
  try {
    await waitForLog(logFile, from, /serving/, service, 30_000);
    expect(service.running).toBe(true);
  } finally {
    // Ended by us, not by the kernel: SIGTERM's status, not SIGKILL's.
    expect(await service.stop('SIGTERM', 30_000)).toBe(128 + os.constants.signals.SIGTERM);
  }
}, 60_000);

test('spawnInSandbox refuses --die-with-parent, naming why', () => {
  expect(() =>
    spawnInSandbox(sandbox, ['/bin/true'], {
      env: sandboxEnv(),
      stdio: ['ignore', 'ignore', 'ignore'],
      bwrapOptions: ['--die-with-parent'],
    }),
  ).toThrow(/--die-with-parent kills a command joining the droplet's pid namespace/);
});
