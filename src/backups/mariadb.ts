// MariaDB and MySQL through their client tools (mariadb / mariadb-dump, or mysql / mysqldump).
// Row counts come from one consistent snapshot and checksums from CHECKSUM TABLE, both taken just
// before the dump (--single-transaction): unlike PostgreSQL, MariaDB cannot hand its snapshot to
// another session, so a table written during the dump can differ from its recorded figures.
// The client that reads a dump back runs with its own commands off (`--binary-mode`: no `\!`
// shell escape, no `source`, no `tee` in piped input; every MySQL and MariaDB client has it, unlike
// MariaDB's newer `--sandbox`) and without LOAD DATA LOCAL, which would let the SQL read the
// restoring machine's files.
import { runToCompletion, type CommandSpec } from './command-runner';
import { assertDatabaseName, firstLine, type DatabaseAccess, type DatabaseEngine, type PreparedDump } from './database';
import { commandSource } from './dump-source';
import type { TableStats } from './keys';

const quoted = (name: string) => '`' + name.replace(/`/g, '``') + '`';
const literal = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

function connection(access: DatabaseAccess): { args: string[]; env: Record<string, string> } {
  // --no-defaults first: no option file on the host may change the target or the password.
  const args = ['--no-defaults'];
  if (access.host) args.push('--protocol=TCP', `--host=${access.host}`);
  if (access.port) args.push(`--port=${access.port}`);
  if (access.user) args.push(`--user=${access.user}`);
  return { args, env: access.password !== undefined ? { MYSQL_PWD: access.password } : {} };
}

function mariadbEngine(kind: 'mysql' | 'mariadb'): DatabaseEngine {
  const client = kind === 'mariadb' ? 'mariadb' : 'mysql';
  const dumper = kind === 'mariadb' ? 'mariadb-dump' : 'mysqldump';

  function query(access: DatabaseAccess, database: string | undefined, sql: string): Promise<string> {
    const { args, env } = connection(access);
    const spec: CommandSpec = {
      argv: [
        client,
        ...args,
        '--batch',
        '--skip-column-names',
        '--connect-timeout=10',
        ...(database ? [`--database=${assertDatabaseName(database)}`] : []),
      ],
      env,
    };
    return runToCompletion(access.runner, { ...spec, input: sql });
  }

  async function tableStats(access: DatabaseAccess, database: string): Promise<TableStats[]> {
    const tables = (
      await query(
        access,
        database,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name;\n",
      )
    )
      .split('\n')
      .filter(Boolean);
    if (tables.length === 0) return [];
    const counts = tables.map((t) => `SELECT ${literal(t)}, COUNT(*) FROM ${quoted(t)}`).join(' UNION ALL ');
    const out = await query(
      access,
      database,
      `START TRANSACTION WITH CONSISTENT SNAPSHOT;\n${counts};\nCOMMIT;\nCHECKSUM TABLE ${tables.map(quoted).join(', ')};\n`,
    );
    const lines = out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
    const rows = new Map(lines.slice(0, tables.length).map(([t, n]) => [t, Number(n)]));
    // CHECKSUM TABLE names each table `<database>.<table>`.
    const sums = new Map(lines.slice(tables.length).map(([t, sum]) => [(t ?? '').slice(database.length + 1), sum ?? '']));
    return tables.map((t) => ({ table: t, rows: rows.get(t) ?? -1, checksum: sums.get(t) ?? '' }));
  }

  return {
    kind,
    dumpFormat: 'mysql-sql',
    async prepareDump(access: DatabaseAccess, database: string): Promise<PreparedDump> {
      const toolVersion = firstLine(await runToCompletion(access.runner, { argv: [dumper, '--version'] }));
      const serverVersion = (await query(access, undefined, 'SELECT VERSION();\n')).trim();
      const tables = await tableStats(access, database);
      const size = (
        await query(
          access,
          database,
          'SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = DATABASE();\n',
        )
      ).trim();
      const { args, env } = connection(access);
      // No --databases: the dump has no CREATE DATABASE / USE, so it restores under any name.
      const argv = [
        dumper,
        ...args,
        '--single-transaction',
        '--routines',
        '--triggers',
        '--hex-blob',
        '--default-character-set=utf8mb4',
        assertDatabaseName(database),
      ];
      return {
        source: commandSource(access.runner, { argv, env }),
        format: 'mysql-sql',
        tables,
        serverVersion,
        toolVersion,
        sizeHint: Number(size) || undefined,
        release: async () => undefined,
      };
    },

    tableStats,

    async exists(access, database) {
      return (
        (
          await query(
            access,
            undefined,
            `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '${assertDatabaseName(database)}';\n`,
          )
        ).trim() === '1'
      );
    },

    async create(access, database) {
      await query(access, undefined, `CREATE DATABASE ${quoted(assertDatabaseName(database))};\n`);
    },

    async drop(access, database) {
      await query(access, undefined, `DROP DATABASE IF EXISTS ${quoted(assertDatabaseName(database))};\n`);
    },

    async startRestore(access, database) {
      const { args, env } = connection(access);
      const running = await access.runner.start({
        argv: [client, ...args, '--binary-mode', '--local-infile=0', `--database=${assertDatabaseName(database)}`],
        env,
      });
      return { running, command: client, where: access.runner.where };
    },
  };
}

export const mariadb = mariadbEngine('mariadb');
export const mysql = mariadbEngine('mysql');
