// mariadb:* and mysql:* images in a pod run the machine's real MariaDB server (Debian's mariadbd;
// MariaDB speaks MySQL's protocol, the mysql tag's version is not honoured) as the pod's uid in
// its sandbox, on the pod's address (3306 unless the container declares another port), its data
// in the container's own /var/lib/mysql: initialised on first start (mariadb-install-db), kept
// when the container restarts. Like the official images: MARIADB_/MYSQL_ROOT_PASSWORD (or
// ALLOW_EMPTY / RANDOM root password), MARIADB_/MYSQL_DATABASE, MARIADB_/MYSQL_USER and _PASSWORD;
// arguments starting with `-` go to the server (--character-set-server=...).
// The first start's users and database are made by the server's --init-file, SQL built here with
// every value quoted and passwords as mysql_native_password hashes, so no password is in a file
// and none is pasted into the script: the script only passes its environment's values along.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { identifier, literal } from '../../hosts/services/mariadb-container';
import type { Container } from './kube-types';
import { ServerSettingsError, serverPort, type ServerLaunch } from './server-launch';

const DATA = '/var/lib/mysql';
// /run, not /var/run: the runner makes /var/run (the service account's mount point) as its own.
const RUN = '/run/mysqld';

// Fails as the official entrypoint does when nothing says what root's password is; the generated
// one is shown once, in the container's log, as the official image shows it.
const SCRIPT = `set -e
mkdir -p "${DATA}" "${RUN}"
if [ ! -d "${DATA}/mysql" ]; then
  if [ -z "$OPSFLOW_MARIADB_INIT_SQL" ]; then
    echo "error: database is uninitialized and password option is not specified" >&2
    echo "  You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD" >&2
    exit 1
  fi
  mariadb-install-db --no-defaults --datadir="${DATA}" --tmpdir=/tmp --skip-test-db --auth-root-authentication-method=socket >/dev/null
  (umask 077 && printf '%s\\n' "$OPSFLOW_MARIADB_INIT_SQL" > /tmp/.mariadb-init.sql)
  set -- --init-file=/tmp/.mariadb-init.sql "$@"
  if [ -n "$OPSFLOW_MARIADB_GENERATED_ROOT_PASSWORD" ]; then echo "GENERATED ROOT PASSWORD: $OPSFLOW_MARIADB_GENERATED_ROOT_PASSWORD"; fi
fi
unset OPSFLOW_MARIADB_INIT_SQL OPSFLOW_MARIADB_GENERATED_ROOT_PASSWORD
exec /usr/sbin/mariadbd --no-defaults --datadir="${DATA}" --tmpdir=/tmp --bind-address="$POD_ADDRESS" --port="$POD_PORT" --socket="${RUN}/mysqld.sock" --pid-file="${RUN}/mysqld.pid" --skip-name-resolve --innodb-buffer-pool-size=16M --performance-schema=OFF "$@"`;

const YES = ['1', 'yes', 'true'];

/** mysql_native_password's stored form: '*' and SHA1(SHA1(password)) in upper-case hex; '' for no password. */
export function nativePasswordHash(password: string): string {
  if (!password) return '';
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(inner).digest('hex').toUpperCase()}`;
}

interface MariadbSettings {
  rootPassword?: string;
  database?: string;
  user?: string;
  password?: string;
}

/** The first start's SQL: root from anywhere with its password, the database, the user granted on it. */
export function mariadbInitSql(s: MariadbSettings): string {
  const root = literal(nativePasswordHash(s.rootPassword ?? ''));
  const sql = [
    `ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING ${root};`,
    `CREATE USER 'root'@'%' IDENTIFIED BY PASSWORD ${root};`,
    `GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;`,
  ];
  if (s.database) sql.push(`CREATE DATABASE IF NOT EXISTS ${identifier(s.database)};`);
  if (s.user && s.user !== 'root') {
    sql.push(`CREATE USER ${literal(s.user)}@'%' IDENTIFIED BY PASSWORD ${literal(nativePasswordHash(s.password ?? ''))};`);
    if (s.database) sql.push(`GRANT ALL ON ${identifier(s.database)}.* TO ${literal(s.user)}@'%';`);
  }
  return sql.join('\n');
}

export function mariadbLaunch(container: Container, address: string, env: Record<string, string>): ServerLaunch {
  if (!existsSync('/usr/sbin/mariadbd') || !existsSync('/usr/bin/mariadb-install-db'))
    throw new ServerSettingsError(
      'MariaDB is not installed on this machine (apt-get install mariadb-server): mariadb and mysql images need its server binaries',
    );
  const pick = (name: string): string | undefined => env[`MARIADB_${name}`] ?? env[`MYSQL_${name}`];
  const yes = (value: string | undefined) => YES.includes((value ?? '').toLowerCase());
  const args = container.args ?? [];
  const serverArgs = ['mariadbd', 'mysqld'].includes(args[0] ?? '') ? args.slice(1) : args;
  const notOption = serverArgs.find((a) => !a.startsWith('-'));
  if (notOption !== undefined)
    throw new ServerSettingsError(`argument ${JSON.stringify(notOption)}: mariadb containers take server options (starting with -) only`);
  let rootPassword = pick('ROOT_PASSWORD');
  let generated: string | undefined;
  if (!rootPassword && yes(pick('RANDOM_ROOT_PASSWORD'))) rootPassword = generated = randomBytes(18).toString('base64url');
  const allowEmpty = yes(pick('ALLOW_EMPTY_ROOT_PASSWORD')) || yes(env.MYSQL_ALLOW_EMPTY_PASSWORD);
  const initSql =
    rootPassword || allowEmpty
      ? mariadbInitSql({ rootPassword, database: pick('DATABASE'), user: pick('USER'), password: pick('PASSWORD') })
      : '';
  return {
    command: ['/bin/sh', '-c', SCRIPT, 'mariadbd', ...serverArgs],
    env: {
      ...env,
      OPSFLOW_MARIADB_INIT_SQL: initSql,
      ...(generated ? { OPSFLOW_MARIADB_GENERATED_ROOT_PASSWORD: generated } : {}),
      POD_ADDRESS: address,
      POD_PORT: String(serverPort(container, 3306)),
    },
  };
}
