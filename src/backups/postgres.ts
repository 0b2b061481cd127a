// PostgreSQL through its own client tools (psql, pg_dump). The dump and the per-table row counts
// and checksums come from one snapshot: a psql session exports it (pg_export_snapshot), computes
// the statistics inside it, and stays open while pg_dump --snapshot reads the same data, so
// verification compares like with like even on a database that is being written to.
// Dumps are PostgreSQL's custom archive (uncompressed: the stream is gzipped after), restored by
// pg_restore: an archive holds SQL for the server only, never psql meta-commands (`\!` runs a
// shell command in psql), so nothing in a backup can run a program on the machine restoring it.
import { CommandFailed, runToCompletion, type CommandSpec, type RunningCommand } from './command-runner';
import {
  assertDatabaseName,
  firstLine,
  restoreStagingNames,
  type DatabaseAccess,
  type DatabaseEngine,
  type PreparedDump,
} from './database';
import { commandSource } from './dump-source';
import type { TableStats } from './keys';

const MAINTENANCE_DB = 'postgres';
const READY = '__opsflow_snapshot_ready__';

const ident = (name: string) => `"${assertDatabaseName(name).replace(/"/g, '""')}"`;
const literal = (name: string) => `'${assertDatabaseName(name)}'`;

function connection(access: DatabaseAccess): { args: string[]; env: Record<string, string> } {
  const args = ['--no-password'];
  if (access.host) args.push('--host', access.host);
  if (access.port) args.push('--port', String(access.port));
  if (access.user) args.push('--username', access.user);
  const env: Record<string, string> = { PGCONNECT_TIMEOUT: '10', PGAPPNAME: 'opsflow-backup' };
  if (access.password !== undefined) env.PGPASSWORD = access.password;
  return { args, env };
}

/** psql for opsflow's own queries only: what it reads is written here, never taken from a bucket. */
function psql(access: DatabaseAccess, database: string): CommandSpec {
  const { args, env } = connection(access);
  return {
    argv: [
      'psql',
      '--no-psqlrc',
      '--quiet',
      '--no-align',
      '--tuples-only',
      '--set',
      'ON_ERROR_STOP=1',
      ...args,
      '--dbname',
      assertDatabaseName(database),
    ],
    env,
  };
}

/**
 * One statement: every ordinary table with its row count and an order-independent checksum (the
 * sum of the first 64 bits of each row's md5), run per table through query_to_xml. One line of JSON.
 */
const STATS_SQL = `SELECT coalesce(jsonb_agg(jsonb_build_object('table', t.name, 'rows', (xpath('/row/r/text()', q.doc))[1]::text::bigint, 'checksum', (xpath('/row/s/text()', q.doc))[1]::text) ORDER BY t.name), '[]'::jsonb)::text
FROM (SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%') t,
LATERAL (SELECT query_to_xml(format('SELECT count(*) AS r, coalesce(sum((''x'' || left(md5(ROW(opsflow_row.*)::text), 16))::bit(64)::bigint), 0) AS s FROM %s opsflow_row', t.name), false, true, '') AS doc) q`;

function parseStats(json: string): TableStats[] {
  return (JSON.parse(json) as TableStats[]).map((t) => ({ table: t.table, rows: Number(t.rows), checksum: String(t.checksum) }));
}

/** Reads a session's output lines until `marker`; fails if the session ends first. */
function readUntil(session: RunningCommand, marker: string, what: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const lines = text.split('\n');
      const at = lines.indexOf(marker);
      if (at >= 0) {
        session.stdout.off('data', onData);
        resolve(lines.slice(0, at));
      }
    };
    session.stdout.on('data', onData);
    void session.completion.then((exit) => reject(new CommandFailed(what, 'the database host', exit)));
  });
}

export const postgresql: DatabaseEngine = {
  kind: 'postgresql',
  dumpFormat: 'postgresql-custom',

  async prepareDump(access: DatabaseAccess, database: string): Promise<PreparedDump> {
    const toolVersion = firstLine(await runToCompletion(access.runner, { argv: ['pg_dump', '--version'] }));
    const session = await access.runner.start(psql(access, database));
    session.stdin.write(
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\nSELECT version();\nSELECT pg_database_size(current_database());\n${STATS_SQL};\n\\echo ${READY}\n`,
    );
    let lines: string[];
    try {
      lines = await readUntil(session, READY, 'psql');
    } catch (err) {
      session.kill();
      if (err instanceof CommandFailed) throw new CommandFailed('psql', access.runner.where, err.exit);
      throw err;
    }
    session.stdout.resume();
    const [snapshot, serverVersion, size, stats] = lines.filter((l) => l.trim() !== '');
    const { args, env } = connection(access);
    const source = commandSource(access.runner, {
      argv: ['pg_dump', ...args, '--format=custom', '--compress=0', `--snapshot=${snapshot}`, '--dbname', assertDatabaseName(database)],
      env,
    });
    return {
      source,
      format: 'postgresql-custom',
      tables: parseStats(stats ?? '[]'),
      serverVersion: serverVersion ?? '',
      toolVersion,
      sizeHint: Number(size) || undefined,
      async release() {
        session.stdin.end('COMMIT;\n');
        const timer = setTimeout(() => session.kill(), 10_000);
        await session.completion;
        clearTimeout(timer);
      },
    };
  },

  async tableStats(access, database) {
    return parseStats((await runToCompletion(access.runner, { ...psql(access, database), input: STATS_SQL + ';\n' })).trim() || '[]');
  },

  async exists(access, database) {
    const out = await runToCompletion(access.runner, {
      ...psql(access, MAINTENANCE_DB),
      input: `SELECT count(*) FROM pg_database WHERE datname = ${literal(database)};\n`,
    });
    return out.trim() === '1';
  },

  async create(access, database) {
    // template0: a dump restores into a database with nothing in it, as pg_dump's manual advises.
    await runToCompletion(access.runner, {
      ...psql(access, MAINTENANCE_DB),
      input: `CREATE DATABASE ${ident(database)} TEMPLATE template0;\n`,
    });
  },

  async drop(access, database) {
    await runToCompletion(access.runner, {
      ...psql(access, MAINTENANCE_DB),
      input: `DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE);\n`,
    });
  },

  async startRestore(access, database) {
    // The archive on stdin, in one transaction: a restore that fails or is cut off leaves nothing.
    const { args, env } = connection(access);
    const argv = ['pg_restore', ...args, '--single-transaction', '--exit-on-error', '--dbname', assertDatabaseName(database)];
    const running = await access.runner.start({ argv, env });
    return { running, command: 'pg_restore', where: access.runner.where };
  },

  async replaceWith(access, staging, database) {
    // Both renames in one transaction; sessions on the database being replaced are closed first
    // (a rename needs none), as DROP ... WITH (FORCE) did.
    const { replaced } = restoreStagingNames(database);
    const exists = await this.exists(access, database);
    const swap = exists
      ? `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${literal(database)} AND pid <> pg_backend_pid();\nALTER DATABASE ${ident(database)} RENAME TO ${ident(replaced)};\n`
      : '';
    await runToCompletion(access.runner, {
      ...psql(access, MAINTENANCE_DB),
      input: `BEGIN;\n${swap}ALTER DATABASE ${ident(staging)} RENAME TO ${ident(database)};\nCOMMIT;\n`,
    });
    await this.drop(access, replaced);
  },
};
