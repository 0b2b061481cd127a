// Database failover activities over SQL (mysql2; MariaDB as the MySQL stand-in): read a server's
// replication and the gap to its primary, fence and unfence a primary, promote a replica under an
// RPO budget, point a server at a primary by GTID, and a write that must round-trip. Passwords are
// secret references resolved here on the worker; inputs and results carry none.
import { Context, heartbeat } from '@temporalio/activity';
import { secretResolver } from '../../backups/secrets';
import { withConnection, type DatabaseServer, type ResolveSecret, type Sql } from '../../integrations/mysql/connection';
import { parseGtidPosition, parseGtidState, transactionsMissing } from '../../integrations/mysql/gtid';
import {
  fence,
  promote,
  readReplicaLink,
  readState,
  replicateFrom,
  stopReplicating,
  unapplied,
  unfence,
  type FenceResult,
  type PromoteResult,
  type ReplicaLink,
  type ServerState,
} from '../../integrations/mysql/replication';
import { applicationDatabases, cloneFromPrimary, dropDatabasesNotOnPrimary, saveServerDatabases } from '../../integrations/mysql/reseed';
import type { ObserverView } from '../../workflows/failover/assessment';
import { failure, REFUSAL, STEP_FAILURE } from '../../workflows/shared/failures';

export type { DatabaseServer } from '../../integrations/mysql/connection';

export interface DatabaseFailoverDeps {
  resolveSecret?: ResolveSecret;
}

export interface ReplicationReport extends ServerState {
  server: string;
  role: 'primary' | 'replica' | 'read-only (no primary)';
  /** Received, not yet applied (0 for a primary). */
  unappliedTransactions: number;
  /** With `primary` given: what the primary has that this server has not applied; null when the primary did not answer. */
  behindPrimary?: { transactions: number | null; primaryPosition: string | null; primaryError?: string };
}

export interface ReplicationUser {
  user: string;
  /** A secret reference for its password. */
  password: string;
}

export interface PromoteReplicaInput {
  server: DatabaseServer;
  primaryFinalPosition?: string;
  maxLostTransactions: number;
  force?: { reason: string };
  catchUpTimeoutSeconds?: number;
}

export interface ReplicateFromInput {
  server: DatabaseServer;
  primary: DatabaseServer;
  replication: ReplicationUser;
  /**
   * What the primary had applied from this server when it was promoted: this server may hold no
   * more. Default: the primary's binlog position now.
   */
  appliedAtPromotion?: string;
}

const NAME = /^[A-Za-z0-9_]{1,64}$/;

export interface PrepareReplicationServerInput {
  server: DatabaseServer;
  /** Unique among the servers that replicate with each other. */
  serverId: number;
  replication: ReplicationUser;
}

export interface ReseedReplicaInput {
  /** The server with errant transactions: rebuilt as a copy of `primary`. */
  server: DatabaseServer;
  primary: DatabaseServer;
  /** Folder on the worker its own databases are saved to first (the only record of the errant writes). */
  saveErrantTo: string;
}

export interface ReseedReplicaResult {
  server: string;
  primary: string;
  /** The file its databases were saved to before the copy. */
  savedTo: string;
  /** Databases copied from the primary. */
  copied: string[];
  /** Its databases the primary does not have, dropped (they are in the saved file). */
  dropped: string[];
  /** The GTID position the copy was taken at: where it follows the primary from. */
  copiedAt: string;
}

export interface ObserveReplicaViewInput {
  /** The surviving site's replica. */
  server: DatabaseServer;
  /** The failed site's primary it should replicate from. */
  primary: DatabaseServer;
  /** How long a connected replica is watched for an event or heartbeat from the primary (default 5 s). */
  contactSeconds?: number;
}

export interface ReplicaObserverView extends ObserverView {
  observer: 'survivor replica';
  ioRunning?: string;
  lastIoError?: string;
  /** Milliseconds until something (an event, a heartbeat) arrived from the primary while watched. */
  heardWithinMs?: number;
}

/**
 * Client errors of a replica's IO thread that mean the primary could not be reached: 2002/2003
 * cannot connect, 2005 unknown host, 2006 gone away, 2013 lost during a query, 1158-1161 network
 * read and write errors and timeouts. Any other error came from a primary that answered.
 */
const LOST_PRIMARY_ERRNOS = new Set([2002, 2003, 2005, 2006, 2013, 1158, 1159, 1160, 1161]);

/** The replica's verdict from its IO thread alone; undefined while connected (then contact decides). */
function judgeLink(server: string, primary: DatabaseServer, link: ReplicaLink | undefined): ReplicaObserverView | undefined {
  const view = (verdict: ReplicaObserverView['verdict'], saw: string): ReplicaObserverView => ({
    observer: 'survivor replica',
    verdict,
    saw,
    ...(link ? { ioRunning: link.ioRunning, ...(link.lastIoError ? { lastIoError: link.lastIoError } : {}) } : {}),
  });
  if (!link) return view('cannot tell', `${server} is not a replica`);
  if (link.primaryHost !== primary.host || link.primaryPort !== primary.port)
    return view(
      'cannot tell',
      `${server} replicates from ${link.primaryHost}:${link.primaryPort}, not ${primary.name} (${primary.host}:${primary.port})`,
    );
  if (link.ioRunning === 'Yes') return undefined;
  if (LOST_PRIMARY_ERRNOS.has(link.lastIoErrno))
    return view('down', `${server} lost ${primary.name}: IO thread ${link.ioRunning}, error ${link.lastIoErrno}: ${link.lastIoError}`);
  if (link.lastIoErrno)
    return view(
      'cannot tell',
      `${server}'s IO thread is ${link.ioRunning} with an error from a primary that answered (${link.lastIoErrno}: ${link.lastIoError})`,
    );
  return view('cannot tell', `${server}'s IO thread is ${link.ioRunning} with no error (stopped by hand, or still connecting)`);
}

export function createDatabaseFailoverActivities(deps: DatabaseFailoverDeps = {}) {
  const resolveSecret: ResolveSecret = deps.resolveSecret ?? secretResolver(process.env);
  const resolve: ResolveSecret = async (ref) => {
    try {
      return await resolveSecret(ref);
    } catch (error) {
      throw failure(STEP_FAILURE.SecretUnavailable, `database password: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const on = <T>(server: DatabaseServer, fn: (sql: Sql) => Promise<T>) => withConnection(server, resolve, fn);

  return {
    async readReplication({ server, primary }: { server: DatabaseServer; primary?: DatabaseServer }): Promise<ReplicationReport> {
      const state = await on(server, readState);
      const role = state.replica ? 'replica' : state.readOnly ? 'read-only (no primary)' : 'primary';
      const report: ReplicationReport = { server: server.name, role, ...state, unappliedTransactions: unapplied(state) };
      if (primary) {
        try {
          const position = await on(primary, (sql) => sql.value<string>('read the binlog position', 'SELECT @@global.gtid_binlog_pos'));
          const have = parseGtidPosition(state.replica ? state.appliedPosition : state.binlogPosition);
          report.behindPrimary = {
            transactions: transactionsMissing(parseGtidPosition(position), have),
            primaryPosition: String(position),
          };
        } catch (error) {
          report.behindPrimary = { transactions: null, primaryPosition: null, primaryError: (error as Error).message };
        }
      }
      return report;
    },

    /**
     * The surviving replica's view of the failed primary, one of the failover assessment's
     * observers: down when its IO thread lost the primary with a network error, or stays connected
     * but hears nothing (no event, no heartbeat) for two heartbeat periods while watched; up when
     * it is connected and hears from it; otherwise it cannot tell.
     */
    async observeReplicaView(input: ObserveReplicaViewInput): Promise<ReplicaObserverView> {
      const { server, primary } = input;
      const watchMs = Math.round((input.contactSeconds ?? 5) * 1000);
      return on(server, async (sql) => {
        const first = await readReplicaLink(sql);
        const judged = judgeLink(server.name, primary, first);
        if (judged || !first) return judged!;
        const started = Date.now();
        for (;;) {
          await Context.current().sleep(250);
          const now = await readReplicaLink(sql);
          const changed = judgeLink(server.name, primary, now);
          if (changed) return changed;
          const heardWithinMs = Date.now() - started;
          heartbeat({ watchedMs: heardWithinMs });
          if (now!.heartbeats !== first.heartbeats || now!.readPosition !== first.readPosition)
            return {
              observer: 'survivor replica' as const,
              verdict: 'up' as const,
              saw: `${server.name} is connected to ${primary.name} and heard from it within ${heardWithinMs} ms`,
              ioRunning: now!.ioRunning,
              heardWithinMs,
            };
          if (heardWithinMs >= watchMs) break;
        }
        const period = first.heartbeatPeriod;
        const silentFor = `${(watchMs / 1000).toFixed(1)} s`;
        if (period > 0 && watchMs >= 2 * period * 1000)
          return {
            observer: 'survivor replica' as const,
            verdict: 'down' as const,
            saw: `${server.name}'s IO thread says connected, but nothing came from ${primary.name} (no event, no heartbeat) for ${silentFor}, two heartbeat periods of ${period} s`,
            ioRunning: first.ioRunning,
          };
        return {
          observer: 'survivor replica' as const,
          verdict: 'up' as const,
          saw: `${server.name} is connected to ${primary.name} (IO thread running); idle for the ${silentFor} watched, heartbeats every ${period} s`,
          ioRunning: first.ioRunning,
        };
      });
    },

    async fencePrimary({ server }: { server: DatabaseServer }): Promise<FenceResult & { server: string }> {
      return { server: server.name, ...(await on(server, fence)) };
    },

    async unfencePrimary({ server }: { server: DatabaseServer }): Promise<{ server: string; readOnly: false }> {
      await on(server, unfence);
      return { server: server.name, readOnly: false };
    },

    async promoteReplica(input: PromoteReplicaInput): Promise<PromoteResult & { server: string }> {
      if (!Number.isInteger(input.maxLostTransactions) || input.maxLostTransactions < 0)
        throw failure(REFUSAL.InvalidInput, `maxLostTransactions: ${input.maxLostTransactions} is not a whole number of 0 or more`);
      if (input.force && !input.force.reason?.trim())
        throw failure(STEP_FAILURE.RpoBudgetExceeded, 'force: a forced promotion needs a reason');
      const result = await on(input.server, (sql) =>
        promote(sql, {
          primaryFinalPosition: input.primaryFinalPosition,
          maxLostTransactions: input.maxLostTransactions,
          force: input.force,
          catchUpTimeoutMs: (input.catchUpTimeoutSeconds ?? 60) * 1000,
          progress: (s) => heartbeat({ received: s.replica?.received, applied: s.appliedPosition }),
        }),
      );
      return { server: input.server.name, ...result };
    },

    async replicateFrom(input: ReplicateFromInput): Promise<{ server: string; primary: string; startedFrom: string }> {
      if (!NAME.test(input.replication.user))
        throw failure(STEP_FAILURE.DatabaseRefused, `replication.user: ${JSON.stringify(input.replication.user)} is not a user name`);
      const primaryNow = await on(input.primary, async (sql) => ({
        position: await sql.value<string>('read the binlog position', 'SELECT @@global.gtid_binlog_pos'),
        state: await sql.value<string>('read the binlog state', 'SELECT @@global.gtid_binlog_state'),
        floor: await sql.value<string>('read the replication position', 'SELECT @@global.gtid_slave_pos'),
      }));
      const limit = input.appliedAtPromotion ?? primaryNow.position;
      const password = await resolve(input.replication.password);
      const { startedFrom } = await on(input.server, (sql) =>
        replicateFrom(
          sql,
          { host: input.primary.host, port: input.primary.port, user: input.replication.user, password },
          parseGtidPosition(String(limit)),
          parseGtidState(String(primaryNow.state ?? '')),
          String(primaryNow.floor ?? ''),
        ),
      );
      return { server: input.server.name, primary: input.primary.name, startedFrom };
    },

    /**
     * Readies a new server for GTID replication: its own server_id, strict GTID mode, and the
     * replication user (made or its password set, with sql_log_bin off so no replica repeats it).
     * Refused, naming what to add, when the server was started without a binlog or without
     * log_slave_updates (a replica that feeds another needs both).
     */
    async prepareReplicationServer(input: PrepareReplicationServerInput): Promise<{ server: string; serverId: number }> {
      if (!NAME.test(input.replication.user))
        throw failure(STEP_FAILURE.DatabaseRefused, `replication.user: ${JSON.stringify(input.replication.user)} is not a user name`);
      const password = await resolve(input.replication.password);
      return on(input.server, async (sql) => {
        const logBin = Number(await sql.value('read log_bin', 'SELECT @@global.log_bin'));
        const logReplicaUpdates = Number(await sql.value('read log_slave_updates', 'SELECT @@global.log_slave_updates'));
        if (logBin !== 1 || logReplicaUpdates !== 1)
          throw failure(
            STEP_FAILURE.DatabaseNotReplicable,
            `${input.server.name} runs with log_bin ${logBin ? 'ON' : 'OFF'} and log_slave_updates ${logReplicaUpdates ? 'ON' : 'OFF'}: start it with --log-bin --log-slave-updates (the mysql service's command)`,
          );
        await sql.run('set server_id', 'SET GLOBAL server_id = ?', [input.serverId]);
        await sql.run('set gtid_strict_mode', 'SET GLOBAL gtid_strict_mode = ON');
        await sql.run('keep the user out of the binlog', 'SET SESSION sql_log_bin = 0');
        await sql.run('make the replication user', "CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", [input.replication.user, password]);
        await sql.run('set its password', "ALTER USER ?@'%' IDENTIFIED BY ?", [input.replication.user, password]);
        await sql.run('grant it replication', "GRANT REPLICATION SLAVE ON *.* TO ?@'%'", [input.replication.user]);
        return { server: input.server.name, serverId: input.serverId };
      });
    },

    /**
     * Rebuilds `server` as a copy of `primary` (its errant transactions cannot be replayed away):
     * read-only and no longer replicating, its own databases saved to a file on the worker, its
     * binlog reset, the primary's databases loaded from one snapshot with the GTID it stands at.
     * replicateFrom then starts it from exactly there. A retry starts over from the save.
     */
    async reseedReplica(input: ReseedReplicaInput): Promise<ReseedReplicaResult> {
      const serverPassword = input.server.password === undefined ? undefined : await resolve(input.server.password);
      const primaryPassword = input.primary.password === undefined ? undefined : await resolve(input.primary.password);
      const primaryDatabases = await on(input.primary, applicationDatabases);
      const ownDatabases = await on(input.server, async (sql) => {
        await sql.run('set read_only', 'SET GLOBAL read_only = ON');
        await stopReplicating(sql);
        return applicationDatabases(sql);
      });
      const plan = {
        server: input.server,
        primary: input.primary,
        serverPassword,
        primaryPassword,
        saveErrantTo: input.saveErrantTo,
        savedName: `${input.server.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-before-reseed-${new Date().toISOString().replace(/[:.]/g, '-')}`,
      };
      const savedTo = await saveServerDatabases(plan, ownDatabases);
      heartbeat({ savedTo });
      const dropped = await on(input.server, async (sql) => {
        // Its binlog holds the errant GTIDs: gone, so it holds nothing the primary never had.
        await sql.run('forget its own binlog', 'RESET MASTER');
        return dropDatabasesNotOnPrimary(sql, primaryDatabases);
      });
      await cloneFromPrimary(plan, primaryDatabases);
      const copiedAt = await on(input.server, (sql) => sql.value<string>('read the copied position', 'SELECT @@global.gtid_slave_pos'));
      return {
        server: input.server.name,
        primary: input.primary.name,
        savedTo,
        copied: primaryDatabases,
        dropped,
        copiedAt: String(copiedAt),
      };
    },

    /** Stops `server` following its primary; it stays read-only. */
    async stopReplication({ server }: { server: DatabaseServer }): Promise<{ server: string; wasReplica: boolean }> {
      return { server: server.name, ...(await on(server, stopReplicating)) };
    },

    /** Writes a row (keyed by `id`) into opsflow.failover_checks and reads it back. */
    async verifyWrite({
      server,
      id,
    }: {
      server: DatabaseServer;
      id: string;
    }): Promise<{ server: string; wrote: string; position: string }> {
      return on(server, async (sql) => {
        await sql.run('make the opsflow database', 'CREATE DATABASE IF NOT EXISTS opsflow');
        await sql.run(
          'make the failover checks table',
          'CREATE TABLE IF NOT EXISTS opsflow.failover_checks (id VARCHAR(255) PRIMARY KEY, at TIMESTAMP(3) NOT NULL) ENGINE=InnoDB',
        );
        await sql.run('write the check row', 'REPLACE INTO opsflow.failover_checks (id, at) VALUES (?, NOW(3))', [id]);
        const back = await sql.value<string>('read the check row back', 'SELECT id FROM opsflow.failover_checks WHERE id = ?', [id]);
        if (back !== id) throw failure(STEP_FAILURE.DatabaseRefused, `${server.name}: the row written as ${id} did not read back`);
        const position = await sql.value<string>('read the binlog position', 'SELECT @@global.gtid_binlog_pos');
        return { server: server.name, wrote: id, position: String(position) };
      });
    },
  };
}

export type DatabaseFailoverActivities = ReturnType<typeof createDatabaseFailoverActivities>;
