// postgres:* images run the machine's real PostgreSQL server inside the droplet, as the postgres
// system user (it refuses root), with its data in the container's folder or its mounted volume.
// Like the official image: POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless
// POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (default the user), PGDATA, and
// /docker-entrypoint-initdb.d/*.sql|*.sh on first start. Password auth over TCP, trust on the unix
// socket, which lives in the container's folder and is what `docker exec ... psql` connects to.
import { appendFileSync, existsSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { giveToDroplet } from '../isolation/droplet-files';
import { hostPath } from '../sandbox';
import {
  appendLog,
  asUser,
  ContainerFailed,
  initScripts,
  ownedFolders,
  pathInContainer,
  serverArgs,
  serverPort,
  setupStep,
  startServer,
  userOf,
  type ContainerContext,
  type ContainerDriver,
  type ExecAdditions,
  type RunningContainer,
} from './container-driver';

let binDir: string | undefined;

/** The newest PostgreSQL on the machine (the droplet sees the machine's /usr). */
export function postgresBin(): string {
  if (binDir) return binDir;
  const versions = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql')
        .filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/postgres`))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0]) return (binDir = `/usr/lib/postgresql/${versions[0]}/bin`);
  if (existsSync('/usr/local/bin/postgres')) return (binDir = path.dirname(realpathSync('/usr/local/bin/postgres')));
  throw new ContainerFailed(
    'PostgreSQL is not installed on this machine (apt-get install postgresql): postgres images need its server binaries',
  );
}

function settings(ctx: ContainerContext) {
  const env = ctx.record.spec.env;
  const user = env.POSTGRES_USER || 'postgres';
  return {
    user,
    password: env.POSTGRES_PASSWORD ?? '',
    database: env.POSTGRES_DB || user,
    hostAuth: env.POSTGRES_HOST_AUTH_METHOD || 'scram-sha-256',
    data: pathInContainer(ctx, env.PGDATA || '/var/lib/postgresql/data'),
    socketDir: path.posix.join(ctx.dir, 'run'),
    port: serverPort(ctx, 5432),
  };
}

export const postgresDriver: ContainerDriver = {
  stopSignal: 'SIGINT', // PostgreSQL's fast shutdown

  async start(ctx: ContainerContext): Promise<RunningContainer> {
    const bin = postgresBin();
    const s = settings(ctx);
    await ownedFolders(ctx, 'postgres', [s.data, s.socketDir], s.data);
    const firstStart = !existsSync(hostPath(ctx.sandbox, path.posix.join(s.data, 'PG_VERSION')));
    if (firstStart) {
      if (!s.password && s.hostAuth !== 'trust') {
        appendLog(
          ctx,
          'Error: Database is uninitialized and superuser password is not specified.\n       You must specify POSTGRES_PASSWORD to a non-empty value for the\n       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".',
        );
        throw new ContainerFailed('Database is uninitialized and superuser password is not specified: set POSTGRES_PASSWORD');
      }
      // initdb reads the password from a file: one only postgres can read, gone right after.
      const pwfile = path.posix.join(s.socketDir, '.pwfile');
      const hostPwfile = hostPath(ctx.sandbox, pwfile);
      rmSync(hostPwfile, { force: true });
      writeFileSync(hostPwfile, `${s.password || 'unused'}\n`, { mode: 0o600, flag: 'wx' });
      const account = userOf(ctx.sandbox, 'postgres')!;
      giveToDroplet(ctx.sandbox, hostPwfile, account.uid, account.gid);
      try {
        await setupStep(
          ctx,
          'initdb',
          asUser(ctx.sandbox, 'postgres', [
            `${bin}/initdb`,
            '-D',
            s.data,
            '-U',
            s.user,
            `--pwfile=${pwfile}`,
            '--auth-local=trust',
            `--auth-host=${s.hostAuth}`,
            '--encoding=UTF8',
            '--locale=C.UTF-8',
          ]),
        );
      } finally {
        rmSync(hostPwfile, { force: true });
      }
      // Clients come from any loopback address, not only 127.0.0.1: accept them all, by password.
      appendFileSync(hostPath(ctx.sandbox, path.posix.join(s.data, 'pg_hba.conf')), `\nhost all all all ${s.hostAuth}\n`);
    }
    const running = await startServer(
      ctx,
      asUser(ctx.sandbox, 'postgres', [
        `${bin}/postgres`,
        '-D',
        s.data,
        ...serverArgs(ctx, ['postgres']),
        '-c',
        `listen_addresses=${s.port.addresses.join(',')}`,
        '-c',
        `port=${s.port.port}`,
        '-c',
        `unix_socket_directories=${s.socketDir}`,
      ]),
      { env: {}, ready: /database system is ready to accept connections/, stopSignal: 'SIGINT', ports: s.port.bound },
    );
    if (firstStart) {
      try {
        await firstStartSetup(ctx, bin, s);
      } catch (error) {
        await running.stop();
        throw error;
      }
    }
    return running;
  },

  execEnv(ctx: ContainerContext): ExecAdditions {
    const s = settings(ctx);
    return { env: { PGHOST: s.socketDir, PGPORT: String(s.port.port), PGUSER: s.user, PGDATA: s.data }, pathPrefix: postgresBin() };
  },
};

async function firstStartSetup(ctx: ContainerContext, bin: string, s: ReturnType<typeof settings>): Promise<void> {
  const connection = ['-h', s.socketDir, '-p', String(s.port.port), '-U', s.user];
  if (s.database !== 'postgres') await setupStep(ctx, 'createdb', [`${bin}/createdb`, ...connection, '--', s.database]);
  const env = { PGHOST: s.socketDir, PGPORT: String(s.port.port), PGUSER: s.user, PGDATABASE: s.database, ...ctx.record.spec.env };
  for (const script of initScripts(ctx)) {
    appendLog(ctx, `/usr/local/bin/docker-entrypoint.sh: running ${script}`);
    if (script.endsWith('.sql')) {
      await setupStep(ctx, script, [`${bin}/psql`, ...connection, '-d', s.database, '-v', 'ON_ERROR_STOP=1', '--no-psqlrc', '-f', script], {
        env,
      });
    } else if (script.endsWith('.sh')) {
      await setupStep(ctx, script, ['/bin/bash', script], { env });
    } else {
      appendLog(ctx, `/usr/local/bin/docker-entrypoint.sh: ignoring ${script}`);
    }
  }
}
