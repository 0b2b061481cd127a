// A test's own Redis servers (Debian's redis-server), never the machine's 6379 one: each on a free
// loopback port in its own folder, nothing kept on disk, with a password (`requirepass`, and
// `masterauth` to follow its peer), as a primary/replica pair of stack E runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { createClient } from '@redis/client';
import type { RedisServer } from '../../src/integrations/redis/replication';
import { freePort } from './processes';
import { tempDir } from './temp';

export const REDIS_PASSWORD_SECRETS = { OPSFLOW_SECRET_REDIS: 'redis-pw-4' };

export interface RedisProcess {
  name: string;
  port: number;
  /** The server as opsflow's activities are given it (its password a reference). */
  spec: RedisServer;
  /** One command as an administrator; its reply. */
  command(...args: string[]): Promise<unknown>;
  stop(): Promise<void>;
  /** Starts it again on the same port and folder, as a restarted server comes back: empty, a primary, its runtime settings gone. */
  start(): Promise<void>;
}

const running: ChildProcess[] = [];

export async function stopAllRedis(): Promise<void> {
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

export async function command(port: number, args: string[]): Promise<unknown> {
  const client = createClient({
    socket: { host: '127.0.0.1', port, reconnectStrategy: false, connectTimeout: 5000 },
    password: REDIS_PASSWORD_SECRETS.OPSFLOW_SECRET_REDIS,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
}

export async function startRedis(name: string): Promise<RedisProcess> {
  const dir = tempDir(`redis-${name}`);
  const port = await freePort();
  const password = REDIS_PASSWORD_SECRETS.OPSFLOW_SECRET_REDIS;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--requirepass',
    password,
    '--masterauth',
    password,
    '--logfile',
    `${dir}/redis.log`,
  ];
  let child: ChildProcess;
  const launch = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    running.push(child);
    for (let tries = 0; ; tries++) {
      if (child.exitCode !== null) throw new Error(`redis-server ${name} exited (${child.exitCode}) at start; see ${dir}/redis.log`);
      if (
        await command(port, ['PING']).then(
          () => true,
          () => false,
        )
      )
        break;
      if (tries > 200) throw new Error(`redis-server ${name} did not answer on ${port}; see ${dir}/redis.log`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await launch();
  return {
    name,
    port,
    spec: { name, host: '127.0.0.1', port, password: 'env:OPSFLOW_SECRET_REDIS' },
    command: (...args) => command(port, args),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
    start: launch,
  };
}

/** Its role line: 'master' or 'slave'. */
export async function redisRole(server: RedisProcess): Promise<string> {
  const reply = (await server.command('ROLE')) as unknown[];
  return String(reply[0]);
}
