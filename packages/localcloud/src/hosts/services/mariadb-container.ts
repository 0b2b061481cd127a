// mariadb:* and mysql:* images run the machine's real MariaDB server inside the droplet (MariaDB
// speaks MySQL's protocol; the mysql tag's version is not honoured). Like the official images:
// MARIADB_/MYSQL_ROOT_PASSWORD (or ALLOW_EMPTY / RANDOM root password), MARIADB_/MYSQL_DATABASE,
// MARIADB_/MYSQL_USER and _PASSWORD, /docker-entrypoint-initdb.d/*.sql|*.sh on first start.
// `docker exec` clients find the container's socket through MYSQL_HOME/my.cnf (the droplet's
// /etc/mysql/my.cnf names the machine's socket, and option files beat MYSQL_UNIX_PORT).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { writeDropletFile } from '../isolation/droplet-files';
import { hostPath } from '../sandbox';
import {
  appendLog,
  ContainerFailed,
  initScripts,
  ownedFolders,
  pathInContainer,
  serverArgs,
  serverPort,
  setupStep,
  startServer,
  type ContainerContext,
  type ContainerDriver,
  type ExecAdditions,
  type RunningContainer,
} from './container-driver';

function binary(...candidates: string[]): string {
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found)
    throw new ContainerFailed(
      'MariaDB is not installed on this machine (apt-get install mariadb-server): mariadb and mysql images need its server binaries',
    );
  return found;
}

function settings(ctx: ContainerContext) {
  const env = ctx.record.spec.env;
  const pick = (name: string) => env[`MARIADB_${name}`] ?? env[`MYSQL_${name}`];
  const run = path.posix.join(ctx.dir, 'run');
  return {
    rootPassword: pick('ROOT_PASSWORD'),
    allowEmpty: ['1', 'yes', 'true'].includes((pick('ALLOW_EMPTY_ROOT_PASSWORD') ?? env.MYSQL_ALLOW_EMPTY_PASSWORD ?? '').toLowerCase()),
    randomRoot: ['1', 'yes', 'true'].includes((pick('RANDOM_ROOT_PASSWORD') ?? '').toLowerCase()),
    database: pick('DATABASE'),
    user: pick('USER'),
    password: pick('PASSWORD'),
    data: pathInContainer(ctx, '/var/lib/mysql'),
    run,
    // Its own temporary folder: the server runs as mysql and must not depend on the droplet's /tmp.
    tmp: path.posix.join(ctx.dir, 'tmp'),
    socket: path.posix.join(run, 'mysqld.sock'),
    clientConfigDir: path.posix.join(ctx.dir, 'client'),
    port: serverPort(ctx, 3306),
  };
}

export const mariadbDriver: ContainerDriver = {
  stopSignal: 'SIGTERM',

  async start(ctx: ContainerContext): Promise<RunningContainer> {
    const s = settings(ctx);
    const server = binary('/usr/sbin/mariadbd', '/usr/sbin/mysqld');
    await ownedFolders(ctx, 'mysql', [s.data, s.run, s.tmp]);
    writeClientConfig(ctx, s);
    const firstStart = !existsSync(hostPath(ctx.sandbox, path.posix.join(s.data, 'mysql')));
    if (firstStart) {
      if (!s.rootPassword && !s.allowEmpty && !s.randomRoot) {
        appendLog(
          ctx,
          'error: database is uninitialized and password option is not specified\n\tYou need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD',
        );
        throw new ContainerFailed(
          'database is uninitialized and password option is not specified: set MARIADB_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD',
        );
      }
      await setupStep(ctx, 'mariadb-install-db', [
        binary('/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'),
        '--no-defaults',
        '--user=mysql',
        `--datadir=${s.data}`,
        `--tmpdir=${s.tmp}`,
        '--skip-test-db',
        '--auth-root-authentication-method=socket',
      ]);
    }
    const running = await startServer(
      ctx,
      [
        server,
        '--no-defaults',
        ...serverArgs(ctx, ['mariadbd', 'mysqld']),
        '--user=mysql',
        `--datadir=${s.data}`,
        `--tmpdir=${s.tmp}`,
        `--bind-address=${s.port.addresses.join(',')}`,
        `--port=${s.port.port}`,
        `--socket=${s.socket}`,
        `--pid-file=${path.posix.join(s.run, 'mysqld.pid')}`,
        '--skip-name-resolve',
      ],
      { env: {}, ready: /ready for connections/, stopSignal: 'SIGTERM', ports: s.port.bound },
    );
    if (firstStart) {
      try {
        await firstStartSetup(ctx, s);
      } catch (error) {
        await running.stop();
        throw error;
      }
    }
    return running;
  },

  execEnv(ctx: ContainerContext): ExecAdditions {
    const s = settings(ctx);
    const env: Record<string, string> = { MYSQL_HOME: s.clientConfigDir, MARIADB_HOME: s.clientConfigDir, MYSQL_UNIX_PORT: s.socket };
    if (s.rootPassword) env.MYSQL_PWD = s.rootPassword;
    return { env };
  },
};

function writeClientConfig(ctx: ContainerContext, s: ReturnType<typeof settings>): void {
  const dir = hostPath(ctx.sandbox, s.clientConfigDir);
  writeDropletFile(ctx.sandbox, path.join(dir, 'my.cnf'), `[client-server]\nsocket=${s.socket}\nport=${s.port.port}\n`);
}

async function firstStartSetup(ctx: ContainerContext, s: ReturnType<typeof settings>): Promise<void> {
  let rootPassword = s.rootPassword ?? '';
  if (!s.rootPassword && s.randomRoot) {
    rootPassword = randomBytes(18).toString('base64url');
    appendLog(ctx, `GENERATED ROOT PASSWORD: ${rootPassword}`);
  }
  const sql = ['SET @@SESSION.SQL_LOG_BIN=0;'];
  if (rootPassword)
    sql.push(`ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(${literal(rootPassword)});`);
  sql.push(`CREATE USER 'root'@'%' IDENTIFIED BY ${literal(rootPassword)};`, `GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;`);
  if (s.database) sql.push(`CREATE DATABASE IF NOT EXISTS ${identifier(s.database)};`);
  if (s.user && s.user !== 'root') {
    sql.push(`CREATE USER ${literal(s.user)}@'%' IDENTIFIED BY ${literal(s.password ?? '')};`);
    if (s.database) sql.push(`GRANT ALL ON ${identifier(s.database)}.* TO ${literal(s.user)}@'%';`);
  }
  sql.push('FLUSH PRIVILEGES;');
  const client = binary('/usr/bin/mariadb', '/usr/bin/mysql');
  const connect = [client, '--no-defaults', `--socket=${s.socket}`, '-uroot'];
  await setupStep(ctx, 'creating users and database', connect, { input: sql.join('\n') + '\n' });
  for (const script of initScripts(ctx)) {
    appendLog(ctx, `[Entrypoint]: running ${script}`);
    if (script.endsWith('.sql')) {
      await setupStep(ctx, script, ['/bin/sh', '-c', 'exec "$@" < "$0"', script, ...connect, ...(s.database ? [s.database] : [])], {
        env: { MYSQL_PWD: rootPassword },
      });
    } else if (script.endsWith('.sh')) {
      await setupStep(ctx, script, ['/bin/bash', script], { env: { ...ctx.record.spec.env, MYSQL_UNIX_PORT: s.socket } });
    } else {
      appendLog(ctx, `[Entrypoint]: ignoring ${script}`);
    }
  }
}

/** A SQL string literal: what the user wrote never leaves the quotes (pods' MariaDB uses it too). */
export function literal(text: string): string {
  if (text.includes('\0')) throw new ContainerFailed('values may not contain NUL characters');
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function identifier(text: string): string {
  if (text.includes('\0')) throw new ContainerFailed('names may not contain NUL characters');
  return `\`${text.replace(/`/g, '``')}\``;
}
