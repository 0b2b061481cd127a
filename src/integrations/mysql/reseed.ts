// Re-seeding a server that holds transactions its new primary never had (errant transactions,
// written while it was cut off): those cannot be replayed away, so the server is rebuilt as a
// copy of the primary. First its own databases are saved to a file on the worker (they are the
// only record of the errant writes: someone must look at them); then every application database
// of the primary is cloned into it with mariadb-dump (one consistent snapshot, with the GTID it
// stands at), loaded with the binlog off, its own binlog reset, and the GTID position set, so it
// can follow the primary from exactly where the copy was taken.
import { spawn } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import type { DatabaseServer } from './connection';
import type { Sql } from './connection';

/** Databases a server keeps for itself, never copied or dropped. */
const SYSTEM_DATABASES = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

export interface ReseedPlan {
  server: DatabaseServer;
  primary: DatabaseServer;
  serverPassword?: string;
  primaryPassword?: string;
  /** Folder on the worker the server's own databases are saved to before it is overwritten. */
  saveErrantTo: string;
  /** A name for the saved file (the server and the time). */
  savedName: string;
}

export async function applicationDatabases(sql: Sql): Promise<string[]> {
  const rows = await sql.rows('list databases', 'SHOW DATABASES');
  return rows.map((r) => String(Object.values(r)[0])).filter((name) => !SYSTEM_DATABASES.has(name));
}

function clientArgs(server: DatabaseServer): string[] {
  // --no-defaults first: no option file on the worker may change the target.
  return ['--no-defaults', '--protocol=TCP', `--host=${server.host}`, `--port=${server.port}`, `--user=${server.user}`];
}

function passwordEnv(password: string | undefined): NodeJS.ProcessEnv {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' } as NodeJS.ProcessEnv;
  if (password !== undefined) env.MYSQL_PWD = password; // never on the command line
  return env;
}

/** Runs `argv`, its stdout into `sink`; fails naming the tool and its last words on stderr. */
function run(
  what: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  sink: NodeJS.WritableStream,
  input?: NodeJS.ReadableStream,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    if (input) input.pipe(child.stdin!);
    child.stdout!.pipe(sink, { end: false });
    child.on('error', (error) => reject(failure(STEP_FAILURE.DatabaseRefused, `${what}: ${argv[0]} could not start (${error.message})`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          failure(
            STEP_FAILURE.DatabaseRefused,
            `${what}: ${argv[0]} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
    });
  });
}

/** Saves the server's databases (as they are, errant writes included) to a 0600 file; returns its path. */
export async function saveServerDatabases(plan: ReseedPlan, databases: string[]): Promise<string> {
  mkdirSync(plan.saveErrantTo, { recursive: true, mode: 0o700 });
  const file = path.join(plan.saveErrantTo, `${plan.savedName}.sql`);
  const out = createWriteStream(file, { mode: 0o600, flags: 'wx' });
  await new Promise<void>((resolve, reject) => out.once('open', () => resolve()).once('error', reject));
  chmodSync(file, 0o600);
  try {
    if (databases.length)
      await run(
        `save ${plan.server.name}'s databases`,
        ['mariadb-dump', ...clientArgs(plan.server), '--single-transaction', '--routines', '--events', '--databases', ...databases],
        passwordEnv(plan.serverPassword),
        out,
      );
  } finally {
    await new Promise<void>((resolve) => out.end(resolve));
  }
  return file;
}

/**
 * The primary's databases into the server: dumped in one snapshot with its GTID position
 * (`--gtid --master-data=1` writes `SET GLOBAL gtid_slave_pos`), loaded with sql_log_bin off so
 * the copy adds nothing of its own to the server's binlog.
 */
export async function cloneFromPrimary(plan: ReseedPlan, databases: string[]): Promise<void> {
  if (databases.length === 0) return;
  const { PassThrough } = await import('node:stream');
  const pipe = new PassThrough();
  pipe.write('SET SESSION sql_log_bin = 0;\n');
  const load = run(
    `load the copy into ${plan.server.name}`,
    ['mariadb', ...clientArgs(plan.server), '--binary-mode', '--local-infile=0'],
    passwordEnv(plan.serverPassword),
    process.stderr, // the client prints nothing on success; anything it says goes to the worker's log
    pipe,
  );
  try {
    await run(
      `copy ${plan.primary.name}'s databases`,
      [
        'mariadb-dump',
        ...clientArgs(plan.primary),
        '--single-transaction',
        '--gtid',
        '--master-data=1',
        '--add-drop-database',
        '--routines',
        '--events',
        '--databases',
        ...databases,
      ],
      passwordEnv(plan.primaryPassword),
      pipe,
    );
  } finally {
    pipe.end();
  }
  await load;
}

/** Drops what the server has that the primary has not (errant databases; saved before). */
export async function dropDatabasesNotOnPrimary(sql: Sql, primaryDatabases: string[]): Promise<string[]> {
  const extra = (await applicationDatabases(sql)).filter((d) => !primaryDatabases.includes(d));
  await sql.run('keep the drops out of the binlog', 'SET SESSION sql_log_bin = 0');
  for (const name of extra) await sql.run(`drop ${name}`, `DROP DATABASE \`${name.replace(/`/g, '``')}\``);
  return extra;
}
