// Redis failover activities: read a server's role and how far a replica is behind its primary,
// fence and unfence a primary, promote a replica within a budget of bytes, and point a server at a
// primary. Passwords are secret references resolved here on the worker; inputs and results carry none.
import { heartbeat } from '@temporalio/activity';
import { secretResolver } from '../../backups/secrets';
import {
  fenceRedis,
  followRedis,
  promoteRedis,
  readRole,
  unfenceRedis,
  withRedis,
  type RedisFenceResult,
  type RedisPromoteResult,
  type RedisRole,
  type RedisServer,
  type ResolveSecret,
} from '../../integrations/redis/replication';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';

export type { RedisServer } from '../../integrations/redis/replication';

export interface RedisRoleReport extends RedisRole {
  /** With `primary` given: bytes of its stream this server has not processed; null when it did not answer. */
  behindPrimary?: { bytes: number | null; primaryOffset: number | null; primaryError?: string };
}

export function createRedisFailoverActivities(deps: { resolveSecret?: ResolveSecret } = {}) {
  const resolveSecret: ResolveSecret = deps.resolveSecret ?? secretResolver(process.env);
  const resolve: ResolveSecret = async (ref) => {
    try {
      return await resolveSecret(ref);
    } catch (error) {
      throw failure(STEP_FAILURE.SecretUnavailable, `redis password: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const on = <T>(server: RedisServer, fn: Parameters<typeof withRedis<T>>[2]) => withRedis(server, resolve, fn);

  return {
    async readRedisRole({ server, primary }: { server: RedisServer; primary?: RedisServer }): Promise<RedisRoleReport> {
      const role: RedisRoleReport = await on(server, readRole);
      if (primary) {
        try {
          const theirs = await on(primary, readRole);
          role.behindPrimary = { bytes: Math.max(0, theirs.offset - role.offset), primaryOffset: theirs.offset };
        } catch (error) {
          role.behindPrimary = { bytes: null, primaryOffset: null, primaryError: (error as Error).message };
        }
      }
      return role;
    },

    async fenceRedisPrimary({ server }: { server: RedisServer }): Promise<RedisFenceResult & { server: string }> {
      return { server: server.name, ...(await on(server, fenceRedis)) };
    },

    async unfenceRedisPrimary({
      server,
      minReplicasToWrite,
    }: {
      server: RedisServer;
      minReplicasToWrite: number;
    }): Promise<{ server: string }> {
      await on(server, (r) => unfenceRedis(r, minReplicasToWrite));
      return { server: server.name };
    },

    async promoteRedisReplica(input: {
      server: RedisServer;
      primaryFinalOffset?: number;
      maxLostBytes: number;
      force?: { reason: string };
      catchUpTimeoutSeconds?: number;
      /** What min-replicas-to-write the new primary runs with (a fence left on it by an earlier failover is lifted). */
      minReplicasToWrite?: number;
    }): Promise<RedisPromoteResult & { server: string }> {
      const result = await on(input.server, async (r) => {
        const promoted = await promoteRedis(r, {
          primaryFinalOffset: input.primaryFinalOffset,
          maxLostBytes: input.maxLostBytes,
          force: input.force !== undefined,
          timeoutMs: (input.catchUpTimeoutSeconds ?? 60) * 1000,
          progress: (s) => heartbeat({ offset: s.offset }),
        });
        await unfenceRedis(r, input.minReplicasToWrite ?? 0);
        return promoted;
      });
      return { server: input.server.name, ...result };
    },

    /** Makes `server` a replica of `primary` (REPLICAOF); `primary: undefined` makes it stand alone, still fenced. */
    async pointRedisAt(input: {
      server: RedisServer;
      primary?: RedisServer;
    }): Promise<{ server: string; primary: string | null; changed: boolean; wasReplicaOf: string | null }> {
      const primary = input.primary;
      return on(input.server, async (r) => {
        if (!primary) {
          const before = await readRole(r);
          if (before.role === 'replica') {
            // Standing alone it must not take writes: fenced before it stops following.
            await r.command('refuse writes', ['CONFIG', 'SET', 'min-replicas-to-write', '1000000']);
            await r.command('stop following', ['REPLICAOF', 'NO', 'ONE']);
          }
          return {
            server: input.server.name,
            primary: null,
            changed: before.role === 'replica',
            wasReplicaOf: before.primary ? `${before.primary.host}:${before.primary.port}` : null,
          };
        }
        const password = primary.password === undefined ? undefined : await resolve(primary.password);
        const { changed, previous } = await followRedis(r, { host: primary.host, port: primary.port, password });
        return {
          server: input.server.name,
          primary: primary.name,
          changed,
          wasReplicaOf: previous.primary ? `${previous.primary.host}:${previous.primary.port}` : null,
        };
      });
    },
  };
}

export type RedisFailoverActivities = ReturnType<typeof createRedisFailoverActivities>;
