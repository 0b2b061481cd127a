// The failover primitives on a Redis server, through @redis/client (node-redis's core): read its
// role and replication offsets, fence a primary (writes refused with NOREPLICAS through
// min-replicas-to-write, clients cut; its replicas keep streaming so they receive the rest),
// promote a replica (REPLICAOF NO ONE) only once it has processed the fenced primary's last offset,
// and point a server at a new primary (REPLICAOF host port: a replica refuses writes with
// READONLY). Redis has no GTIDs: what a promotion may lose is measured in bytes of the replication
// stream (master_repl_offset), the unit Redis itself uses for partial resynchronisation.
import { createClient } from '@redis/client';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';

/** A Redis server as a workflow names it; its password a secret reference, resolved on the worker. */
export interface RedisServer {
  name: string;
  host: string;
  port: number;
  /** A secret reference (`env:NAME`, `file:/path`) for `requirepass`; none for no password. */
  password?: string;
}

export type ResolveSecret = (ref: string) => string | Promise<string>;

export interface RedisRole {
  server: string;
  role: 'primary' | 'replica';
  /** min-replicas-to-write: above the replicas a primary has, every write is refused (the fence). */
  minReplicasToWrite: number;
  /** A primary's offset, or what a replica has processed of its primary's stream. */
  offset: number;
  replicationId: string;
  /** Replicas a primary has (connected), with what each acknowledged. */
  replicas: { host: string; port: number; state: string; offset: number }[];
  /** For a replica: its primary and the link. */
  primary?: { host: string; port: number; linkUp: boolean; secondsSinceLastIo: number | null; syncing: boolean };
}

/** Above any real number of replicas: with it a primary refuses every write (NOREPLICAS). */
export const FENCE_MIN_REPLICAS = 1_000_000;

const CONNECTION_ERRORS =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Socket closed|Connection timeout|closed unexpectedly/i;

function redisFailure(what: string, error: unknown) {
  const message = error instanceof Error ? error.message || error.name : String(error);
  if (CONNECTION_ERRORS.test(message) || (error as { code?: string }).code === 'ECONNREFUSED')
    return failure(STEP_FAILURE.DatabaseUnreachable, `${what}: no connection (${message})`, { retryable: true });
  // LOADING (a restart reading its data) and BUSY (a script running) pass; anything else is the server's refusal.
  return failure(STEP_FAILURE.DatabaseRefused, `${what}: refused (${message})`, { retryable: /^(LOADING|BUSY|MASTERDOWN)/.test(message) });
}

/** Commands on one server, each failure named after the server and what it was doing. */
type Client = { sendCommand(args: string[]): Promise<unknown> };

export class Redis {
  constructor(
    private readonly client: Client,
    readonly server: RedisServer,
  ) {}

  async command(what: string, args: string[]): Promise<unknown> {
    try {
      return await this.client.sendCommand(args);
    } catch (error) {
      throw redisFailure(`${what} on ${this.server.name}`, error);
    }
  }

  async info(section: string): Promise<Record<string, string>> {
    const text = String(await this.command(`read INFO ${section}`, ['INFO', section]));
    const fields: Record<string, string> = {};
    for (const line of text.split(/\r?\n/)) {
      const at = line.indexOf(':');
      if (at > 0 && !line.startsWith('#')) fields[line.slice(0, at)] = line.slice(at + 1);
    }
    return fields;
  }
}

/** Runs `fn` on a fresh connection (no reconnects: a dead server fails at once), closed afterwards. */
export async function withRedis<T>(server: RedisServer, resolveSecret: ResolveSecret, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const password = server.password === undefined ? undefined : await resolveSecret(server.password);
  const client = createClient({
    socket: { host: server.host, port: server.port, connectTimeout: 10_000, reconnectStrategy: false },
    ...(password !== undefined ? { password } : {}),
  });
  // Errors reach the command that meets them; the client's own event must not crash the worker.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw redisFailure(`connect to ${server.name} (${server.host}:${server.port})`, error);
  }
  try {
    return await fn(new Redis(client, server));
  } finally {
    client.destroy();
  }
}

export async function readRole(redis: Redis): Promise<RedisRole> {
  const info = await redis.info('replication');
  const config = (await redis.command('read min-replicas-to-write', ['CONFIG', 'GET', 'min-replicas-to-write'])) as string[];
  const minReplicasToWrite = Number(config[1] ?? 0);
  const base = { server: redis.server.name, minReplicasToWrite, replicationId: info.master_replid ?? '' };
  if (info.role === 'slave') {
    return {
      ...base,
      role: 'replica',
      offset: Number(info.slave_repl_offset ?? info.master_repl_offset ?? 0),
      replicas: [],
      primary: {
        host: info.master_host ?? '',
        port: Number(info.master_port ?? 0),
        linkUp: info.master_link_status === 'up',
        secondsSinceLastIo: info.master_last_io_seconds_ago === undefined ? null : Number(info.master_last_io_seconds_ago),
        syncing: info.master_sync_in_progress === '1',
      },
    };
  }
  const replicas: RedisRole['replicas'] = [];
  for (const [key, value] of Object.entries(info)) {
    if (!/^slave\d+$/.test(key)) continue;
    const f = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
    replicas.push({ host: f.ip ?? '', port: Number(f.port ?? 0), state: f.state ?? '', offset: Number(f.offset ?? 0) });
  }
  return { ...base, role: 'primary', offset: Number(info.master_repl_offset ?? 0), replicas };
}

export interface RedisFenceResult {
  /** What min-replicas-to-write was before (restored by unfence). */
  previousMinReplicasToWrite: number;
  killedClients: number;
  /** Its replication offset once writes stopped: what a replica must reach to lose nothing. */
  finalOffset: number;
}

/** Writes refused (NOREPLICAS), clients cut; idempotent (a fenced server reports its earlier setting as 0). */
export async function fenceRedis(redis: Redis): Promise<RedisFenceResult> {
  const before = await readRole(redis);
  if (before.role !== 'primary')
    throw failure(STEP_FAILURE.ReplicationStateUnexpected, `${redis.server.name} is a replica, not a primary: nothing to fence`);
  await redis.command('refuse writes', ['CONFIG', 'SET', 'min-replicas-to-write', String(FENCE_MIN_REPLICAS)]);
  const killed = Number(await redis.command('cut client connections', ['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']));
  const after = await readRole(redis);
  return {
    previousMinReplicasToWrite: before.minReplicasToWrite >= FENCE_MIN_REPLICAS ? 0 : before.minReplicasToWrite,
    killedClients: killed,
    finalOffset: after.offset,
  };
}

export async function unfenceRedis(redis: Redis, minReplicasToWrite: number): Promise<void> {
  await redis.command('accept writes', ['CONFIG', 'SET', 'min-replicas-to-write', String(minReplicasToWrite)]);
}

export interface RedisPromoteResult {
  /** False when it already was a primary (a retried attempt). */
  promoted: boolean;
  /** Bytes of the old primary's stream it never processed; null when the old primary's final offset is unknown. */
  lostBytes: number | null;
  offsetAtPromotion: number;
  waitedMs: number;
}

/**
 * REPLICAOF NO ONE once the replica has processed `primaryFinalOffset` (the fenced primary's last
 * offset), within `timeoutMs`; refused beyond `maxLostBytes` unless forced. A promoted replica keeps
 * its stream's history (replid2), so the old primary can follow it with a partial resync.
 */
export async function promoteRedis(
  redis: Redis,
  options: { primaryFinalOffset?: number; maxLostBytes: number; force?: boolean; timeoutMs: number; progress?: (r: RedisRole) => void },
): Promise<RedisPromoteResult> {
  const started = Date.now();
  let state = await readRole(redis);
  if (state.role === 'primary')
    return {
      promoted: false,
      lostBytes: options.primaryFinalOffset === undefined ? null : Math.max(0, options.primaryFinalOffset - state.offset),
      offsetAtPromotion: state.offset,
      waitedMs: 0,
    };
  const target = options.primaryFinalOffset;
  while (target !== undefined && state.offset < target && state.primary?.linkUp && Date.now() - started < options.timeoutMs) {
    options.progress?.(state);
    await new Promise((r) => setTimeout(r, 100));
    state = await readRole(redis);
  }
  const lostBytes = target === undefined ? null : Math.max(0, target - state.offset);
  if ((lostBytes ?? 0) > options.maxLostBytes && !options.force)
    throw failure(
      STEP_FAILURE.RpoBudgetExceeded,
      `${redis.server.name} lacks ${lostBytes} byte(s) of the old Redis primary's stream (processed ${state.offset} of ${target}); the budget is ${options.maxLostBytes}: not promoted`,
    );
  await redis.command('promote (REPLICAOF NO ONE)', ['REPLICAOF', 'NO', 'ONE']);
  const after = await readRole(redis);
  return { promoted: true, lostBytes, offsetAtPromotion: after.offset, waitedMs: Date.now() - started };
}

/** REPLICAOF host port (its password as masterauth); nothing changes when it already follows that primary. */
export async function followRedis(
  redis: Redis,
  primary: { host: string; port: number; password?: string },
): Promise<{ changed: boolean; previous: RedisRole }> {
  const previous = await readRole(redis);
  if (previous.role === 'replica' && previous.primary?.host === primary.host && previous.primary.port === primary.port)
    return { changed: false, previous };
  await redis.command('set masterauth', ['CONFIG', 'SET', 'masterauth', primary.password ?? '']);
  await redis.command(`follow ${primary.host}:${primary.port}`, ['REPLICAOF', primary.host, String(primary.port)]);
  return { changed: true, previous };
}
