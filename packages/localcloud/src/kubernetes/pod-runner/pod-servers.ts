// PostgreSQL and Redis images in a pod run the machine's real servers, as droplets' containers do
// (hosts/services/postgres-container.ts, redis-container.ts), in the pod's sandbox as the pod's own
// uid and on the pod's address, so a Service in front of them is a real database. Like the
// official images: POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
// POSTGRES_USER, POSTGRES_DB and PGDATA, the database initialised on first start; Redis without
// persistence. The values reach the server through its environment, never pasted into the script,
// and the names that end up in SQL or pg_hba.conf are checked first. MariaDB/MySQL and RabbitMQ
// images: pod-mariadb.ts, pod-rabbitmq.ts.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { postgresBin } from '../../hosts/services/postgres-container';
import type { Container } from './kube-types';
import { mariadbLaunch } from './pod-mariadb';
import { rabbitmqLaunch } from './pod-rabbitmq';
import { ServerSettingsError, serverPort, type ServerLaunch, type ServerPod } from './server-launch';

const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const AUTH_METHODS = ['trust', 'scram-sha-256', 'md5', 'password'];

export async function serverLaunch(
  program: 'postgres' | 'redis' | 'prometheus' | 'mariadb' | 'rabbitmq',
  container: Container,
  address: string,
  env: Record<string, string>,
  planeBinDir: string,
  pod: ServerPod,
): Promise<ServerLaunch> {
  if (program === 'prometheus') return prometheusLaunch(container, address, env, planeBinDir);
  if (program === 'mariadb') return mariadbLaunch(container, address, env);
  if (program === 'rabbitmq') return rabbitmqLaunch(container, address, env, pod);
  return program === 'redis' ? redisLaunch(container, address) : postgresLaunch(container, address, env);
}

/**
 * prom/prometheus: the plane's Prometheus with the container's arguments (the image's defaults
 * when it gives none), listening on the pod's address; its Kubernetes discovery uses the pod's
 * service account (pod-volumes.ts).
 */
function prometheusLaunch(container: Container, address: string, env: Record<string, string>, planeBinDir: string): ServerLaunch {
  // Not Debian's: it is built without Kubernetes discovery, which an in-cluster Prometheus needs.
  const server = path.join(planeBinDir, 'prometheus');
  if (!existsSync(server))
    throw new ServerSettingsError(
      `no prometheus in ${planeBinDir} (bash scripts/kube-plane.sh builds it beside the control plane): prometheus images need it`,
    );
  const args = container.args?.length
    ? container.args
    : ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus'];
  const port = serverPort(container, 9090);
  // Outside /usr, so not in the sandbox by itself: mounted where the container sees it.
  const inside = '/opt/prometheus';
  return {
    command: [inside, ...args.filter((a) => !a.startsWith('--web.listen-address')), `--web.listen-address=${address}:${port}`],
    env,
    mounts: [{ source: server, target: inside }],
  };
}

function redisLaunch(container: Container, address: string): ServerLaunch {
  const server = ['/usr/bin/redis-server', '/usr/bin/valkey-server'].find((candidate) => existsSync(candidate));
  if (!server)
    throw new ServerSettingsError(
      'Redis is not installed on this machine (apt-get install redis-server): redis images need its server binary',
    );
  const port = serverPort(container, 6379);
  return {
    command: [
      server,
      '--bind',
      address,
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      '/tmp',
      '--protected-mode',
      'no',
      '--daemonize',
      'no',
    ],
    env: {},
    readyLine: 'Ready to accept connections',
  };
}

// Run by /bin/sh with every value in its environment: initdb on first start (the password through a
// file only the pod's uid reads, removed at once), clients from any address by the auth method,
// POSTGRES_DB made in single-user mode, then exec the server (so it gets the pod's signals).
const POSTGRES_SCRIPT = `set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    echo "Error: Database is uninitialized and superuser password is not specified. Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)." >&2
    exit 1
  fi
  mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
  (umask 077 && printf '%s\\n' "\${POSTGRES_PASSWORD:-unused}" > /tmp/.pwfile)
  "$PG_BIN/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile=/tmp/.pwfile --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f /tmp/.pwfile
  echo "host all all all $POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \\"$POSTGRES_DB\\"" | "$PG_BIN/postgres" --single -D "$PGDATA" -c dynamic_shared_memory_type=mmap postgres >/dev/null
  fi
fi
exec "$PG_BIN/postgres" -D "$PGDATA" -c listen_addresses="$POD_ADDRESS" -c port="$POD_PORT" -c unix_socket_directories=/tmp -c dynamic_shared_memory_type=mmap -c shared_buffers=16MB`;

function postgresLaunch(container: Container, address: string, env: Record<string, string>): ServerLaunch {
  let bin: string;
  try {
    bin = postgresBin();
  } catch (error) {
    throw new ServerSettingsError((error as Error).message);
  }
  const user = env.POSTGRES_USER || 'postgres';
  const database = env.POSTGRES_DB || user;
  const auth = env.POSTGRES_HOST_AUTH_METHOD || 'scram-sha-256';
  for (const [name, value] of [
    ['POSTGRES_USER', user],
    ['POSTGRES_DB', database],
  ] as const)
    if (!SQL_NAME.test(value))
      throw new ServerSettingsError(`${name} ${JSON.stringify(value)} is not a plain SQL name (letters, digits and _, at most 63)`);
  if (!AUTH_METHODS.includes(auth))
    throw new ServerSettingsError(`POSTGRES_HOST_AUTH_METHOD ${JSON.stringify(auth)} is not one of ${AUTH_METHODS.join(', ')}`);
  const pgdata = env.PGDATA || '/var/lib/postgresql/data';
  if (!pgdata.startsWith('/') || pgdata.split('/').includes('..'))
    throw new ServerSettingsError(`PGDATA ${JSON.stringify(pgdata)} must be an absolute path without ".."`);
  return {
    command: ['/bin/sh', '-c', POSTGRES_SCRIPT],
    env: {
      ...env,
      POSTGRES_USER: user,
      POSTGRES_DB: database,
      POSTGRES_HOST_AUTH_METHOD: auth,
      PGDATA: pgdata,
      PG_BIN: bin,
      POD_ADDRESS: address,
      POD_PORT: String(serverPort(container, 5432)),
    },
  };
}
