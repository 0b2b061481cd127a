// The SSH client against a real OpenSSH server (sshd from Debian, on 127.0.0.1, logging in as root):
// exit codes and output, argv arriving verbatim, host keys pinned or refused, cancellation that
// stops the command on the host, streaming without buffering, and files over SFTP.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { connect, HostKeyMismatchError, SshError, type SshConnection, type SshTarget } from '../../../src/integrations/ssh';
import { freePort } from '../../helpers/processes';
import { generateEd25519 } from '../../helpers/ssh-keys';
import { startSshd, type Sshd } from '../../helpers/sshd';
import { HOSTILE } from './hostile-strings';

// The garbage collector, callable without starting node with --expose-gc.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const key = generateEd25519();
const stranger = generateEd25519();
let sshd: Sshd;
let target: SshTarget;
let conn: SshConnection;
let files: string;

beforeAll(async () => {
  sshd = await startSshd({ authorizedKeys: [key.public] });
  files = path.join(sshd.dir, 'files');
  mkdirSync(files);
  target = { host: sshd.host, port: sshd.port, username: sshd.user, privateKey: key.private };
  conn = await connect(target);
});
afterAll(async () => {
  conn?.close();
  await sshd?.stop();
});

/** Processes on this machine (the "host") whose full command line matches exactly. */
function running(commandLine: string): string[] {
  try {
    return execFileSync('pgrep', ['-x', '-f', commandLine], { encoding: 'utf8' }).trim().split('\n');
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

async function eventually(check: () => boolean, withinMs: number): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > withinMs) throw new Error(`not true within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}

test('exec: exit codes, stdout and stderr come back apart', async () => {
  const result = await conn.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  expect(result).toMatchObject({ exitCode: 3, signal: null, stdoutTail: 'out\n', stderrTail: 'err\n', stdoutBytes: 4, stderrBytes: 4 });
  expect(await conn.exec(['true'])).toMatchObject({ exitCode: 0, stdoutTail: '', stderrTail: '' });
  expect((await conn.exec(['false'])).exitCode).toBe(1);
  expect((await conn.exec(['no-such-command-anywhere'])).exitCode).toBe(127);
});

test('hostile argv strings arrive verbatim, supervised or bare', async () => {
  for (const supervise of [true, false]) {
    const all = await conn.exec(['printf', '%s\\0', ...HOSTILE], { supervise });
    expect(all.stdoutTail.split('\0').slice(0, -1)).toEqual(HOSTILE);
    for (const word of HOSTILE.slice(0, 8)) expect((await conn.exec(['printf', '%s', word], { supervise })).stdoutTail).toBe(word);
  }
  // Nothing was executed by the remote shell: no file from `> /etc/shadow`-style words appeared.
  expect(existsSync('/etc/shadow')).toBe(true);
});

test('stdin (string, Buffer, stream) and env reach the command; env values never on a command line', async () => {
  expect((await conn.exec(['cat'], { stdin: 'hello\n' })).stdoutTail).toBe('hello\n');
  const data = randomBytes(3 * 1024 * 1024);
  const sha = createHash('sha256').update(data).digest('hex');
  expect((await conn.exec(['sha256sum'], { stdin: data })).stdoutTail).toBe(`${sha}  -\n`);
  expect((await conn.exec(['sha256sum'], { stdin: Readable.from([data.subarray(0, 1000), data.subarray(1000)]) })).stdoutTail).toBe(
    `${sha}  -\n`,
  );
  const secret = `s3cr3t $(id) '"\n${randomBytes(4).toString('hex')}`;
  // Every process's arguments on the host, searched with a pattern read from a file (not an argument).
  const scan =
    'printf %s "$DB_PASSWORD" | sha256sum; for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f" 2>/dev/null; echo; done | grep -c -F -f <(printf "%s\\n" "$MARK") || true';
  const env = await conn.execScript(scan, [], { env: { DB_PASSWORD: secret, MARK: secret.slice(0, 6) } });
  expect(env.stdoutTail.split('\n')[0]).toBe(`${createHash('sha256').update(secret).digest('hex')}  -`);
  expect(env.stdoutTail.split('\n')[1]).toBe('0'); // no process had the value in its arguments
  // The same scan does find a value that is passed as an argument.
  const control = await conn.execScript(scan, [secret], { env: { DB_PASSWORD: secret, MARK: secret.slice(0, 6) } });
  expect(Number(control.stdoutTail.split('\n')[1])).toBeGreaterThan(0);
});

test('a script gets values only as positional arguments, and stdin after its own text', async () => {
  const script = 'set -eu\necho "n=$#"\nfor a in "$@"; do printf "[%s]" "$a"; done\necho\nread -r first\necho "first=$first"\ncat\nexit 4';
  const result = await conn.execScript(script, ['$(touch /tmp/opsflow-pwned)', "a'b", ''], { stdin: 'one\ntwo\n' });
  expect(result).toMatchObject({ exitCode: 4, stdoutTail: "n=3\n[$(touch /tmp/opsflow-pwned)][a'b][]\nfirst=one\ntwo\n" });
  expect(existsSync('/tmp/opsflow-pwned')).toBe(false);
});

test('only the tails of huge outputs are kept, with the full byte counts; onOutput sees every chunk', async () => {
  let seen = 0;
  const result = await conn.exec(['bash', '-c', 'head -c 5000000 /dev/zero | tr "\\0" x; echo END; head -c 300000 /dev/zero >&2'], {
    onOutput: (chunk) => (seen += chunk.length),
  });
  expect(result.stdoutBytes).toBe(5_000_004);
  expect(result.stderrBytes).toBe(300_000);
  expect(seen).toBe(5_300_004);
  expect(result.stdoutTail.length).toBe(64 * 1024);
  expect(result.stdoutTail.endsWith('xxEND\n')).toBe(true);
  expect(result.stderrTail.length).toBe(64 * 1024);
});

test('host keys: the first-contact fingerprint is ssh-keygen -lf of the host key; the right pin is accepted, a wrong one refused', async () => {
  const keygen = execFileSync('ssh-keygen', ['-lf', sshd.hostKeyFile + '.pub'], { encoding: 'utf8' }).split(' ')[1];
  expect(conn.fingerprint).toBe(keygen);
  expect(conn.fingerprint).toBe(sshd.hostFingerprint);

  const pinned = await connect({ ...target, hostKey: { pinned: ['SHA256:' + 'A'.repeat(43), sshd.hostFingerprint] } });
  expect(pinned.fingerprint).toBe(sshd.hostFingerprint);
  expect((await pinned.exec(['echo', 'ok'])).stdoutTail).toBe('ok\n');
  pinned.close();

  const wrong = 'SHA256:' + createHash('sha256').update('another host').digest('base64').replace(/=+$/, '');
  const logins = () => sshd.log().split('Accepted publickey').length;
  const loginsBefore = logins();
  const err = await connect({ ...target, hostKey: { pinned: [wrong] } }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(HostKeyMismatchError);
  expect(err).toMatchObject({ kind: 'host-key', presented: sshd.hostFingerprint, expected: [wrong] });
  const message = (err as Error).message;
  expect(message).toContain(`${sshd.host}:${sshd.port}`);
  expect(message).toContain(sshd.hostFingerprint);
  expect(message).toContain(wrong);
  // Refused before logging in: the key was never offered.
  expect(logins()).toBe(loginsBefore);

  await expect(connect({ ...target, hostKey: { pinned: ['not-a-fingerprint'] } })).rejects.toMatchObject({ kind: 'invalid' });
});

test('an unknown key is refused, a closed port is a connect error, and neither message holds the key', async () => {
  const refused = await connect({ ...target, privateKey: stranger.private }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(SshError);
  expect(refused).toMatchObject({ kind: 'authentication' });
  const closed = await connect({ ...target, port: await freePort() }).catch((e: unknown) => e);
  expect(closed).toMatchObject({ kind: 'connect' });
  expect((closed as Error).message).toContain('ECONNREFUSED');
  const garbage = await connect({
    ...target,
    privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nnot really\n-----END OPENSSH PRIVATE KEY-----',
  }).catch((e: unknown) => e);
  expect(garbage).toMatchObject({ kind: 'invalid' });
  for (const err of [refused, closed, garbage]) {
    const text = `${(err as Error).message} ${(err as Error).stack} ${JSON.stringify(err)}`;
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(stranger.private.split('\n')[1]!.slice(0, 20));
    expect(text).not.toContain('not really');
  }
});

test('a timeout stops the remote command while the connection stays open (root: no signal requests)', async () => {
  const started = Date.now();
  const err = await conn.exec(['sleep', '311'], { timeoutMs: 400 }).catch((e: unknown) => e);
  expect(err).toMatchObject({ kind: 'command-timeout' });
  expect(Date.now() - started).toBeLessThan(3000);
  await eventually(() => running('sleep 311').length === 0, 2000);
  expect(sshd.log()).toContain('session signalling requires privilege separation'); // why the by-name stop exists
  expect(conn.isClosed).toBe(false);
  expect((await conn.exec(['echo', 'still here'])).stdoutTail).toBe('still here\n');
});

test('aborting a script stops its whole process tree, children included', async () => {
  const controller = new AbortController();
  const pending = conn.execScript('sleep 312 & sleep 313 & wait', [], { signal: controller.signal });
  await eventually(() => running('sleep 312').length === 1 && running('sleep 313').length === 1, 3000);
  controller.abort();
  await expect(pending).rejects.toMatchObject({ kind: 'aborted' });
  await eventually(() => running('sleep 312').length + running('sleep 313').length === 0, 2000);
});

test('a command whose connection is cut is stopped on the host by its supervisor', async () => {
  const doomed = await connect(target);
  const pending = doomed.exec(['sleep', '314']).catch((e: unknown) => e);
  await eventually(() => running('sleep 314').length === 1, 3000);
  // Not a clean close: the socket just goes, as when a worker is SIGKILLed.
  (doomed as unknown as { client: { destroy(): void } }).client.destroy();
  expect(await pending).toMatchObject({ kind: 'disconnected' });
  const ms = await eventually(() => running('sleep 314').length === 0, 4000);
  expect(ms).toBeLessThan(4000);
});

test('execStream: 20 MiB streamed through without buffering: held buffers and RSS stay flat (a reader keeping the chunks holds 20 MiB), and a paused reader pauses the host', async () => {
  const size = 20 * 1024 * 1024;
  const script = 'head -c "$1" /dev/urandom > "$2"; sha256sum "$2" >&2; cat "$2"; rm -f "$2"';
  const streamOnce = async (pauseMs: number, keep?: Buffer[]) => {
    const { stdout, done } = await conn.execStream({ script, args: [String(size), path.join(files, 'stream.bin')] });
    const hash = createHash('sha256');
    let received = 0;
    let peakRss = 0;
    let peakHeld = 0;
    let paused = pauseMs === 0;
    gc();
    const baseline = process.memoryUsage();
    await pipeline(
      stdout,
      new Writable({
        highWaterMark: 16 * 1024,
        write(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          keep?.push(chunk);
          const before = received;
          received += chunk.length;
          // Every MiB, collect garbage and see what is still held in buffers.
          if (Math.floor(received / 1048576) !== Math.floor(before / 1048576)) {
            gc();
            peakHeld = Math.max(peakHeld, process.memoryUsage().arrayBuffers);
          }
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
          if (!paused && received > 2 * 1024 * 1024) {
            // Stop reading for a while: the host's cat must block, not fill our memory.
            paused = true;
            const atPause = received;
            setTimeout(() => (received === atPause ? cb() : cb(new Error('data arrived while the reader was paused'))), pauseMs);
            return;
          }
          cb();
        },
      }),
    );
    const result = await done;
    expect(result).toMatchObject({ exitCode: 0, stdoutBytes: size, stdoutTail: '' });
    expect(received).toBe(size);
    expect(result.stderrTail.split(' ')[0]).toBe(hash.digest('hex'));
    return { rss: Math.max(0, peakRss - baseline.rss), held: Math.max(0, peakHeld - baseline.arrayBuffers), baseline: baseline.rss };
  };
  await streamOnce(0); // warm-up: the first stream also pays for allocator and crypto set-up
  const streamed = await streamOnce(500);
  // Control: the same measurement does see a reader that holds on to everything.
  const kept: Buffer[] = [];
  const buffered = await streamOnce(0, kept);
  kept.length = 0;
  const mib = (n: number) => (n / 1048576).toFixed(1);
  console.log(
    `execStream 20 MiB: while streaming, buffers held grew at most ${mib(streamed.held)} MiB and RSS ${mib(streamed.rss)} MiB (baseline ${mib(streamed.baseline)} MiB); ` +
      `a reader keeping every chunk: ${mib(buffered.held)} MiB held, RSS +${mib(buffered.rss)} MiB`,
  );
  // Flow control lets about 4 MiB of data arrive ahead of the reader; the packet buffers those
  // chunks are cut from can hold up to about twice that. Bounded, and independent of the size.
  expect(streamed.held).toBeLessThan(12 * 1024 * 1024);
  expect(streamed.rss).toBeLessThan(4 * 1024 * 1024);
  expect(buffered.held).toBeGreaterThan(size * 0.9); // the measurement does see 20 MiB when it is held
  // 60 MiB through SSH with a full collection every MiB of a heap near 1 GB: on a loaded 2-core
  // machine that took longer than jest's 120 s here (the work had finished, the bound had not).
}, 300_000);

test('execStream: a consumer that stops reading does not let the host run ahead', async () => {
  const { stdout, done, receivedBytes } = await conn.execStream(['bash', '-c', 'head -c 50000000 /dev/zero; echo finished >&2']);
  await new Promise((r) => setTimeout(r, 1000));
  // Nobody read: only ssh2's channel buffer (2 MiB) and SSH window (2 MiB) can have arrived.
  const ahead = receivedBytes();
  console.log(`execStream: ${ahead} bytes arrived ahead of a reader that never read (of 50000000)`);
  expect(ahead).toBeGreaterThan(1024 * 1024);
  expect(ahead).toBeLessThanOrEqual(4 * 1024 * 1024 + 64 * 1024);
  let settled = false;
  void done.then(
    () => (settled = true),
    () => (settled = true),
  );
  expect(settled).toBe(false);
  let total = 0;
  for await (const chunk of stdout) total += (chunk as Buffer).length;
  expect(total).toBe(50_000_000);
  expect((await done).stderrTail).toBe('finished\n');
});

test('execStream: a reader that goes away stops the command on the host', async () => {
  const { stdout, done } = await conn.execStream(['yes', 'opsflow-reader-gone']);
  let got = 0;
  for await (const chunk of stdout) {
    got += (chunk as Buffer).length;
    if (got > 1024 * 1024) break; // leaving the loop destroys the stream
  }
  await expect(done).rejects.toMatchObject({ kind: 'aborted' });
  await eventually(() => running('yes opsflow-reader-gone').length === 0, 2000);
  expect(conn.isClosed).toBe(false);

  // A command that had already finished (its 1 MB fits in SSH's buffers) keeps its exit status.
  const finished = await conn.execStream(['head', '-c', '1000000', '/dev/zero']);
  await new Promise((r) => setTimeout(r, 500));
  finished.stdout.destroy();
  await expect(finished.done).resolves.toMatchObject({ exitCode: 0, stdoutBytes: 1_000_000 });
});

test('sftp: put (Buffer, string, stream) with modes, get, mkdir -p; writes replace atomically', async () => {
  const dir = path.join(files, 'deep', 'er', 'still');
  await conn.mkdirp(dir);
  await conn.mkdirp(dir); // idempotent
  expect(statSync(dir).isDirectory()).toBe(true);

  const binary = randomBytes(1024 * 1024 + 17);
  expect(await conn.putFile(path.join(dir, 'blob.bin'), binary, { mode: 0o600 })).toEqual({ bytes: binary.length });
  expect(readFileSync(path.join(dir, 'blob.bin')).equals(binary)).toBe(true);
  expect(statSync(path.join(dir, 'blob.bin')).mode & 0o777).toBe(0o600);
  expect((await conn.getFile(path.join(dir, 'blob.bin'))).equals(binary)).toBe(true);

  const file = path.join(dir, 'app.env');
  writeFileSync(file, 'OLD=1\n');
  chmodSync(file, 0o644);
  await conn.putFile(file, 'NEW=2\nünï\n', { mode: 0o640 });
  expect(readFileSync(file, 'utf8')).toBe('NEW=2\nünï\n');
  expect(statSync(file).mode & 0o777).toBe(0o640);

  const streamed = await conn.putFile(path.join(dir, 'streamed.txt'), Readable.from(['a', 'b'.repeat(100_000), 'c']));
  expect(streamed.bytes).toBe(100_002);
  expect(statSync(path.join(dir, 'streamed.txt')).mode & 0o777).toBe(0o644);

  expect(readdirSync(dir).sort()).toEqual(['app.env', 'blob.bin', 'streamed.txt']); // no temp files left

  await expect(conn.getFile(path.join(dir, 'missing'))).rejects.toMatchObject({ kind: 'sftp' });
  await expect(conn.getFile(path.join(dir, 'blob.bin'), { maxBytes: 1000 })).rejects.toThrow(/more than the 1000 allowed/);
  await expect(conn.mkdirp(path.join(dir, 'app.env', 'sub'))).rejects.toThrow(/exists and is not a directory/);
  await expect(conn.putFile(path.join(files, 'no', 'such', 'dir', 'f'), 'x')).rejects.toMatchObject({ kind: 'sftp' });
});
