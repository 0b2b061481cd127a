// Benchmark: backing up PostgreSQL through opsflow (pg_dump → gzip level 6 → SHA-256 → multipart
// upload into the local cloud's real S3 server) against `pg_dump | gzip > /dev/null` on the same
// database in the same run (the baseline), for a ~100 MB and a ≥ 1 GB database; and the peak
// memory of the process doing the backup (a child process, VmHWM), which must not grow with size.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { resolveS3ServerBinary, SpacesServer } from '@opsflow/localcloud';
import { spacesClient } from '../src/backups/spaces';
import { writeResults, type Row } from './harness';

const run = promisify(execFile);
const ROUNDS = 2;
const MB = 1e6;

interface ChildResult {
  statsMs: number;
  streamMs: number;
  uncompressedBytes: number;
  compressedBytes: number;
  peakRssKb: number;
  rssAtStartKb: number;
}

function psql(database: string, sql: string): Promise<string> {
  return run(
    'psql',
    ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-U', 'postgres', '-w', '-d', database, '-c', sql],
    { maxBuffer: 1 << 20 },
  ).then((r) => r.stdout.trim());
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** An event log (no index, as such tables often are) and an accounts table, to about `bytes` on disk. */
async function createDatabase(name: string, bytes: number): Promise<number> {
  // About 165 bytes a row on disk: small steps for the small database, so it lands near its size.
  const chunk = bytes < 500 * MB ? 100_000 : 1_000_000;
  await psql('postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await psql('postgres', `CREATE DATABASE ${name}`);
  await psql(
    name,
    "CREATE TABLE accounts (id int PRIMARY KEY, email text, created timestamptz); INSERT INTO accounts SELECT g, md5(g::text) || '@example.com', now() - g * interval '1 hour' FROM generate_series(1, 10007) g;",
  );
  await psql(
    name,
    'CREATE TABLE events (id bigint, at timestamptz NOT NULL, account int NOT NULL, kind text NOT NULL, payload text NOT NULL)',
  );
  for (let from = 1; Number(await psql(name, `SELECT pg_database_size('${name}')`)) < bytes; from += chunk) {
    await psql(
      name,
      `SET synchronous_commit = off; INSERT INTO events SELECT g, timestamptz '2026-01-01' + g * interval '1 second', g % 10007, (ARRAY['login','purchase','refund','view','signup'])[1 + g % 5], md5(g::text) || ' ' || md5((g * 7)::text) || ' ' || repeat(chr(97 + (g % 26)::int), 20 + (g % 40)::int) FROM generate_series(${from}, ${from + chunk - 1}) g`,
    );
    process.stdout.write('.');
  }
  await psql(name, 'VACUUM ANALYZE');
  return Number(await psql('postgres', `SELECT pg_database_size('${name}')`));
}

/** `pg_dump | gzip > /dev/null`, timed; the shell is the baseline's, as an operator would type it. */
async function baseline(database: string): Promise<number> {
  const started = performance.now();
  await run('bash', [
    '-o',
    'pipefail',
    '-c',
    `pg_dump -h 127.0.0.1 -U postgres -w --format=custom --compress=0 --dbname ${database} | gzip -6 > /dev/null`,
  ]);
  return performance.now() - started;
}

function opsflow(
  database: string,
  databaseBytes: number,
  spaces: { endpoint: string; accessKey: string; secretKey: string },
  key: string,
  withStats: boolean,
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(__dirname, '..', 'node_modules', '.bin', 'tsx'), [path.join(__dirname, 'backup-child.ts')], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        BENCH_DATABASE: database,
        BENCH_DATABASE_BYTES: String(databaseBytes),
        BENCH_ENDPOINT: spaces.endpoint,
        BENCH_ACCESS_KEY: spaces.accessKey,
        BENCH_SECRET_KEY: spaces.secretKey,
        BENCH_BUCKET: 'bench',
        BENCH_KEY: key,
        BENCH_WITH_STATS: withStats ? '1' : '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1) as string) as ChildResult)
        : reject(new Error(`backup child exited ${code}`)),
    );
  });
}

async function emptyBucket(s3: S3Client): Promise<void> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'bench' }));
  const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key as string }));
  if (keys.length) await s3.send(new DeleteObjectsCommand({ Bucket: 'bench', Delete: { Objects: keys } }));
}

const mbps = (bytes: number, ms: number) => bytes / MB / (ms / 1000);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-bench-spaces-'));
  const keys = { accessKey: 'opsflow-bench', secretKey: randomBytes(18).toString('base64url') };
  const server = new SpacesServer({
    address: '127.0.0.1',
    port: await freePort(),
    dataDir,
    ...keys,
    binaryPath: await resolveS3ServerBinary(),
  });
  await server.start();
  const spaces = { endpoint: server.endpoint, ...keys };
  const s3 = spacesClient({
    endpoint: server.endpoint,
    region: server.region,
    accessKeyId: keys.accessKey,
    secretAccessKey: keys.secretKey,
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
  const sizes = [
    { name: 'opsflow_bench_100mb', bytes: 100 * MB, label: '100 MB' },
    { name: 'opsflow_bench_1gb', bytes: 1.05 * 1024 * MB, label: '1 GB' },
  ];
  const rows: Row[] = [];
  const notes: string[] = [];
  const peaks: Record<string, number> = {};
  try {
    for (const size of sizes) {
      process.stdout.write(`creating ${size.name} `);
      const dbBytes = await createDatabase(size.name, size.bytes);
      console.log(` ${(dbBytes / MB).toFixed(0)} MB`);
      const base: number[] = [];
      const ours: ChildResult[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        base.push(await baseline(size.name));
        ours.push(await opsflow(size.name, dbBytes, spaces, `${size.name}/${round}.sql.gz`, false));
        await emptyBucket(s3);
        console.log(
          `${size.label} round ${round + 1}: baseline ${(base.at(-1)! / 1000).toFixed(1)} s, opsflow ${(ours.at(-1)!.streamMs / 1000).toFixed(1)} s, peak RSS ${(ours.at(-1)!.peakRssKb / 1024).toFixed(0)} MiB`,
        );
      }
      const full = await opsflow(size.name, dbBytes, spaces, `${size.name}/full.sql.gz`, true);
      await emptyBucket(s3);
      const dumpBytes = ours[0]!.uncompressedBytes;
      const bestBase = Math.min(...base);
      const best = ours.reduce((a, b) => (a.streamMs <= b.streamMs ? a : b));
      const peak = Math.max(...ours.map((o) => o.peakRssKb), full.peakRssKb) / 1024;
      peaks[size.label] = peak;
      const ratio = mbps(dumpBytes, best.streamMs) / mbps(dumpBytes, bestBase);
      rows.push({
        measure: `${size.label} database (${(dbBytes / MB).toFixed(0)} MB on disk, ${(dumpBytes / MB).toFixed(0)} MB dump → ${(best.compressedBytes / MB).toFixed(0)} MB gzip): MB/s of dump`,
        value: mbps(dumpBytes, best.streamMs).toFixed(1),
        baseline: mbps(dumpBytes, bestBase).toFixed(1),
        ratio: ratio.toFixed(2),
        target: size.label === '1 GB' ? '≥ 0.8 of `pg_dump \\| gzip`' : 'info',
        verdict: size.label === '1 GB' ? (ratio >= 0.8 ? 'met' : 'missed') : 'info',
      });
      rows.push({
        measure: `${size.label}: peak RSS of the backing-up process (VmHWM)`,
        value: `${peak.toFixed(0)} MiB`,
        baseline: `${(best.rssAtStartKb / 1024).toFixed(0)} MiB at start`,
        target: '< 200 MiB',
        verdict: peak < 200 ? 'met' : 'missed',
      });
      rows.push({
        measure: `${size.label}: with per-table statistics first (what backupDatabase does)`,
        value: `${(full.statsMs / 1000).toFixed(1)} s statistics + ${(full.streamMs / 1000).toFixed(1)} s stream`,
        verdict: 'info',
      });
      notes.push(
        `${size.label}: every round, baseline then opsflow (s): ${base.map((b, i) => `${(b / 1000).toFixed(1)} / ${(ours[i]!.streamMs / 1000).toFixed(1)}`).join(', ')}; the best of each is compared`,
      );
      await psql('postgres', `DROP DATABASE IF EXISTS ${size.name} WITH (FORCE)`);
    }
    const [small, big] = [peaks['100 MB'] ?? 0, peaks['1 GB'] ?? 0];
    rows.push({
      measure: 'peak RSS growth from 100 MB to 1 GB database',
      value: `${(big - small).toFixed(0)} MiB`,
      ratio: (big / small).toFixed(2),
      target: 'flat (does not grow with size)',
      verdict: big / small < 1.25 ? 'met' : 'missed',
    });
  } finally {
    for (const size of sizes) await psql('postgres', `DROP DATABASE IF EXISTS ${size.name} WITH (FORCE)`).catch(() => undefined);
    s3.destroy();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  notes.unshift(
    'opsflow: streamBackupToSpaces in a child process (tsx): pg_dump → zlib gzip level 6 → SHA-256 → lib-storage multipart upload (4 parts in flight, 5 MiB each up to 45 GiB of database, larger beyond: S3 allows 10,000 parts) into the local MinIO on loopback, which writes the object to disk; baseline: `pg_dump | gzip -6 > /dev/null`, which uploads and stores nothing',
    'both read the same database from the same PostgreSQL 15 server on this machine; the 2 cores are shared by PostgreSQL, pg_dump, gzip or Node, and MinIO',
    'peak RSS is the child process’s VmHWM (Node, the AWS SDK, tsx’s loader, the part buffers); pg_dump and MinIO run in their own processes',
  );
  const file = writeResults('backup', 'Backup throughput and memory', rows, notes);
  console.log(file);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
