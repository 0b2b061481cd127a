// The backing-up side of bench/backup.ts, in its own process so its peak memory (VmHWM) is its
// own: one PostgreSQL database streamed by streamBackupToSpaces (pg_dump → gzip 6 → SHA-256 →
// multipart upload) into the S3 server. Settings come in the environment; one JSON line out.
import { readFileSync } from 'node:fs';
import { backupKeyring, generateBackupKey, parseBackupKeys } from '../src/backups/backup-key';
import { localRunner } from '../src/backups/local-runner';
import { commandSource, type DumpSource } from '../src/backups/dump-source';
import { postgresql } from '../src/backups/postgres';
import { spacesClient } from '../src/backups/spaces';
import { streamBackupToSpaces } from '../src/backups/stream-to-spaces';

/** kB from /proc/self/status: VmHWM is the peak resident set size, VmRSS the current one. */
function status(field: 'VmHWM' | 'VmRSS'): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(field + ':'));
  return Number(line?.split(/\s+/)[1] ?? NaN);
}

async function main(): Promise<void> {
  const env = process.env;
  const database = env.BENCH_DATABASE as string;
  const access = { runner: localRunner(), host: '127.0.0.1', port: 5432, user: 'postgres' };
  const s3 = spacesClient({
    endpoint: env.BENCH_ENDPOINT as string,
    region: 'us-east-1',
    accessKeyId: env.BENCH_ACCESS_KEY as string,
    secretAccessKey: env.BENCH_SECRET_KEY as string,
  });
  const rssAtStartKb = status('VmRSS');

  // With statistics: what the backupDatabase activity does (per-table counts and checksums in the
  // dump's own snapshot, then the dump). Without: the bare stream, comparable to pg_dump | gzip.
  let statsMs = 0;
  let source: DumpSource;
  let release = async (): Promise<void> => undefined;
  let sizeHint: number | undefined;
  if (env.BENCH_WITH_STATS === '1') {
    const started = performance.now();
    const prepared = await postgresql.prepareDump(access, database);
    statsMs = performance.now() - started;
    source = prepared.source;
    release = prepared.release;
    sizeHint = prepared.sizeHint;
  } else {
    sizeHint = Number(env.BENCH_DATABASE_BYTES) || undefined;
    source = commandSource(access.runner, {
      argv: [
        'pg_dump',
        '--no-password',
        '--host',
        '127.0.0.1',
        '--port',
        '5432',
        '--username',
        'postgres',
        '--format=custom',
        '--compress=0',
        '--dbname',
        database,
      ],
    });
  }
  const started = performance.now();
  const manifest = await streamBackupToSpaces({
    source,
    compression: 'gzip',
    gzipLevel: 6,
    sizeHint,
    ...(env.BENCH_PART_MIB ? { partSize: Number(env.BENCH_PART_MIB) * 1024 * 1024 } : {}),
    ...(env.BENCH_QUEUE ? { queueSize: Number(env.BENCH_QUEUE) } : {}),
    s3,
    bucket: env.BENCH_BUCKET as string,
    key: env.BENCH_KEY as string,
    signingKey: backupKeyring(parseBackupKeys(generateBackupKey(), 'bench')).signingKey(),
    manifest: {
      format: 'postgresql-custom',
      policy: 'bench',
      target: 'bench',
      kind: 'postgresql',
      database,
      serverVersion: '',
      toolVersion: '',
      takenAt: new Date().toISOString(),
      tables: [],
    },
  });
  const streamMs = performance.now() - started;
  await release();
  s3.destroy();
  console.log(
    JSON.stringify({
      statsMs,
      streamMs,
      uncompressedBytes: manifest.uncompressedBytes,
      compressedBytes: manifest.compressedBytes,
      peakRssKb: status('VmHWM'),
      rssAtStartKb,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
