// A real OpenSSH server for tests: /usr/sbin/sshd on 127.0.0.1 with a fresh host key, the given
// authorized keys and internal-sftp, everything in a temp folder. Runs as root (we are root), so
// tests log in as root and the "remote" files are this machine's files.
//
// The folder is the server's own, removed by stop() (and at exit), not one from helpers/temp.ts:
// sshd re-reads its config and host key for every connection, and the shared temp manifest is
// emptied by whichever jest run in this checkout ends first, which would pull the host key from
// under a server still in use by another run.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './processes';

export const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  host: string;
  port: number;
  user: string;
  /** The server's folder; also a good place for a test's "remote" files (removed with it). */
  dir: string;
  hostKeyFile: string;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it. */
  hostFingerprint: string;
  /** sshd's stderr so far (it runs with -e). */
  log: () => string;
  stop: () => Promise<void>;
}

export function requireSshd(): void {
  if (!existsSync(SSHD) || !existsSync('/usr/bin/ssh-keygen')) {
    throw new Error(`OpenSSH server not found (${SSHD}); install the host packages with: bash scripts/host-packages.sh`);
  }
}

/** Starts sshd accepting the given public keys; `port` to pick one (e.g. to start it late). */
export async function startSshd(options: { authorizedKeys: string[]; port?: number }): Promise<Sshd> {
  requireSshd();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-sshd-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const hostKeyFile = path.join(dir, 'ssh_host_ed25519_key');
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'opsflow-test-host', '-f', hostKeyFile]);
  const hostFingerprint = execFileSync('/usr/bin/ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKeyFile}.pub`], {
    encoding: 'utf8',
  }).split(/\s+/)[1]!;
  writeFileSync(path.join(dir, 'authorized_keys'), options.authorizedKeys.map((k) => k.trim() + '\n').join(''), { mode: 0o600 });
  const port = options.port ?? (await freePort());
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyFile}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'Subsystem sftp internal-sftp',
      'LogLevel VERBOSE',
      'MaxStartups 100',
      'MaxSessions 50',
      // bash run by sshd sources ~/.bashrc unless it is a nested shell; this machine's root
      // .bashrc runs `pyenv init`, which is slow and, under load, prints lock warnings to stderr.
      // A droplet's stock .bashrc returns at once for non-interactive shells; so does this.
      'SetEnv SHLVL=1',
      '',
    ].join('\n'),
  );
  // sshd refuses to start without its privilege separation directory (normally made by systemd).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start listening within 10 s:\n${log}`)), 10_000);
    const onData = () => {
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with ${code} before listening:\n${log}`));
    });
  });

  return {
    host: '127.0.0.1',
    port,
    user: 'root',
    dir,
    hostKeyFile,
    hostFingerprint,
    log: () => log,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }
      process.removeListener('exit', removeDir);
      removeDir();
    },
  };
}
