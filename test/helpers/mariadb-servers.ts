// A test's own MariaDB servers (Debian's mariadbd), never the machine's 3306 one: each in its own
// folder and port with binlog, GTID strict mode and log_slave_updates, as a primary/replica pair
// needs. The data folder is made once per test file by mariadb-install-db and copied per server.
// Each has the users a failover needs, made with sql_log_bin off so replication does not repeat them:
// `opsflow` (administration), `repl` (REPLICATION SLAVE) and `app` (rows of the `shop` database only,
// so read_only stops it as it stops an application).
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { runToCompletion } from '../../src/backups/command-runner';
import { localRunner } from '../../src/backups/local-runner';
import type { DatabaseServer } from '../../src/integrations/mysql/connection';
import { freePort } from './processes';
import { tempDir } from './temp';

export const PASSWORDS = {
  OPSFLOW_SECRET_DB_ADMIN: 'admin-pw-1',
  OPSFLOW_SECRET_DB_REPL: 'repl-pw-2',
  OPSFLOW_SECRET_DB_APP: 'app-pw-3',
};

export interface MariadbServer {
  name: string;
  port: number;
  serverId: number;
  /** The server as opsflow's activities are given it (the `opsflow` user, its password a reference). */
  admin: DatabaseServer;
  /** Runs SQL as root through the mariadb client; the output, tab-separated, without column names. */
  sql(statement: string): Promise<string>;
  /** Stops it (SIGTERM) and waits for it to end. */
  stop(): Promise<void>;
  /** Starts it again on the same folder and port. */
  start(): Promise<void>;
}

let template: Promise<string> | undefined;

function installTemplate(): Promise<string> {
  template ??= (async () => {
    const root = tempDir('mariadb-template');
    const dir = path.join(root, 'data');
    // Its own tmpdir, not the shared /tmp: a bootstrap once failed in CI on a temporary table it
    // made in /tmp and could no longer find there ("Could not remove temporary table", error 2).
    const tmp = path.join(root, 'tmp');
    mkdirSync(tmp);
    await runToCompletion(localRunner(), {
      argv: [
        'mariadb-install-db',
        '--no-defaults',
        `--datadir=${dir}`,
        `--tmpdir=${tmp}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--user=root',
      ],
    });
    return dir;
  })();
  return template;
}

const running: ChildProcess[] = [];
/** Ends every server this test file started (call from afterAll). */
export async function stopAllMariadb(): Promise<void> {
  await Promise.all(running.map((child) => stopChild(child)));
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function rootClient(port: number, statement: string): Promise<string> {
  return runToCompletion(localRunner(), {
    argv: ['mariadb', '--no-defaults', '--protocol=TCP', '-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-N', '-B'],
    input: statement,
  });
}

export async function startMariadb(name: string, serverId: number): Promise<MariadbServer> {
  const dir = tempDir(`mariadb-${name}`);
  cpSync(await installTemplate(), path.join(dir, 'data'), { recursive: true });
  mkdirSync(path.join(dir, 'tmp'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const args = [
    '--no-defaults',
    '--user=root',
    `--datadir=${path.join(dir, 'data')}`,
    `--tmpdir=${path.join(dir, 'tmp')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${path.join(dir, 'mysqld.sock')}`,
    `--pid-file=${path.join(dir, 'mysqld.pid')}`,
    `--log-error=${path.join(dir, 'error.log')}`,
    `--server-id=${serverId}`,
    `--log-bin=${path.join(dir, 'data', 'binlog')}`,
    '--log-slave-updates',
    '--gtid-strict-mode=ON',
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=16M',
    '--performance-schema=OFF',
  ];
  const server: MariadbServer = {
    name,
    port,
    serverId,
    admin: { name, host: '127.0.0.1', port, user: 'opsflow', password: 'env:OPSFLOW_SECRET_DB_ADMIN' },
    sql: (statement) => rootClient(port, statement),
    stop: async () => {
      if (child) await stopChild(child);
    },
    start: async () => {
      child = spawn('mariadbd', args, { stdio: 'ignore' });
      running.push(child);
      // Ready when it answers; a server that dies at start fails at once, naming its log.
      const exited = new Promise<never>((_, reject) =>
        child!.once('exit', (code) => reject(new Error(`mariadbd ${name} exited (${code}) at start; see ${dir}/error.log`))),
      );
      exited.catch(() => undefined);
      for (let tries = 0; ; tries++) {
        const ready = await Promise.race([
          rootClient(port, 'SELECT 1').then(
            () => true,
            () => false,
          ),
          exited,
        ]);
        if (ready) break;
        if (tries > 600) throw new Error(`mariadbd ${name} did not answer on ${port}; see ${dir}/error.log`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
  await server.start();
  await server.sql(`SET sql_log_bin = 0;
CREATE USER 'opsflow'@'127.0.0.1' IDENTIFIED BY '${PASSWORDS.OPSFLOW_SECRET_DB_ADMIN}';
GRANT ALL PRIVILEGES ON *.* TO 'opsflow'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY '${PASSWORDS.OPSFLOW_SECRET_DB_REPL}';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';
CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '${PASSWORDS.OPSFLOW_SECRET_DB_APP}';
GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO 'app'@'127.0.0.1';`);
  return server;
}

/** The application's side: one row per call into shop.orders, as the `app` user. */
export async function appWrite(server: MariadbServer, note: string): Promise<void> {
  await runToCompletion(localRunner(), {
    argv: ['mariadb', '--no-defaults', '--protocol=TCP', '-h', '127.0.0.1', '-P', String(server.port), '-u', 'app', 'shop'],
    env: { MYSQL_PWD: PASSWORDS.OPSFLOW_SECRET_DB_APP },
    input: `INSERT INTO orders (note) VALUES ('${note.replace(/'/g, "''")}');`,
  });
}

export async function orderCount(server: MariadbServer): Promise<number> {
  return Number((await server.sql('SELECT COUNT(*) FROM shop.orders')).trim());
}
