// A restore command that stops reading before the end of its input. GNU tar, reading a pipe whose first
// read came back short, shrinks its record size and exits at the end-of-archive blocks, leaving the rest
// of the last record unread: the writer saw EPIPE ("Premature close") and verification of a good archive
// failed (CI, test/backups/droplet.test.ts). Whether tar's first read is short depends on timing, so
// these tests do not rely on it: they append 1 MiB of zero blocks after the archive, more than a pipe
// holds, which plain `tar -t` never reads (it stops at the first end-of-archive blocks) and
// `--ignore-zeros` reads through.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { localRunner } from '../../src/backups/local-runner';
import { applyVerifiedObject } from '../../src/backups/restore-from-spaces';
import type { VerifiedObject } from '../../src/backups/download-verified';
import { BackupError } from '../../src/backups/errors';

let dir: string;
let archive: Buffer;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-tar-'));
  mkdirSync(path.join(dir, 'media/uploads'), { recursive: true });
  writeFileSync(path.join(dir, 'media/uploads/photo.jpg'), randomBytes(300_000));
  writeFileSync(path.join(dir, 'media/empty.txt'), '');
  archive = execFileSync('tar', ['-C', path.join(dir, 'media'), '-cf', '-', '.'], { maxBuffer: 16 << 20 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The archive in 4 KiB chunks, the first one alone and late, so tar's first read is short. */
function shortFirstRead(bytes: Buffer): VerifiedObject {
  async function* chunks() {
    yield bytes.subarray(0, 4096);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let at = 4096; at < bytes.length; at += 4096) yield bytes.subarray(at, at + 4096);
  }
  return { bytes: bytes.length, read: () => Readable.from(chunks()), dispose: async () => undefined };
}

const trailingZeros = Buffer.alloc(1 << 20);

async function listThroughTar(argv: string[]) {
  const runner = localRunner();
  return applyVerifiedObject({
    key: 'media/archive/x.tar',
    object: shortFirstRead(Buffer.concat([archive, trailingZeros])),
    compression: 'none',
    sink: await runner.start({ argv }),
    sinkLabel: { command: 'tar', where: runner.where },
  });
}

test('the archive is 10 KiB records long, so the end-of-archive blocks are followed by padding tar -t may leave unread', () => {
  expect(archive.length % 10_240).toBe(0);
  expect(archive.subarray(archive.length - 1024).equals(Buffer.alloc(1024))).toBe(true);
});

test('verification reads the archive with --ignore-zeros: every byte reaches tar, padding included', async () => {
  for (let round = 0; round < 3; round++) {
    await expect(listThroughTar(['tar', '--ignore-zeros', '-tf', '-'])).resolves.toEqual({
      bytesRestored: archive.length + trailingZeros.length,
    });
  }
});

test('a command that exits 0 before reading the whole input is a clear, non-retryable failure, not "Premature close"', async () => {
  // Plain `tar -tf -` stops at the end-of-archive blocks; the writer still holds more than a pipe takes.
  const err = (await listThroughTar(['tar', '-tf', '-']).catch((e: unknown) => e)) as BackupError;
  expect(err).toBeInstanceOf(BackupError);
  expect(err.message).toMatch(
    /^restore of media\/archive\/x\.tar: tar on worker exited \(status 0\) before reading the whole backup \(\d+ bytes read\)$/,
  );
  expect(err.retryable).toBe(false);
});
