// The failover primitives on a MariaDB server (MySQL's statements differ; see README "Failover"):
// read a server's replication state, fence a primary (read-only, clients cut, replicas keep
// reading its binlog so they can receive the rest), promote a replica only when it has applied
// everything it received (Orchestrator's and Patroni's rule: decide when the replica agrees), and
// point a server at a new primary by GTID, refusing when it holds transactions the primary lacks.
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import type { Sql } from './connection';
import { covers, errantAgainst, parseGtidPosition, parseGtidState, transactionsMissing, type GtidPosition, type GtidState } from './gtid';

export interface ReplicaState {
  primaryHost: string;
  primaryPort: number;
  /** 'Yes', 'No' or 'Connecting'. */
  ioRunning: string;
  sqlRunning: string;
  /** What it has received from its primary (Gtid_IO_Pos). */
  received: string;
  /** Seconds_Behind_Master: null while the SQL thread is stopped. */
  secondsBehind: number | null;
  lastIoError: string;
  lastSqlError: string;
}

export interface ServerState {
  readOnly: boolean;
  /** MySQL's super_read_only; null where the server has none (MariaDB). */
  superReadOnly: boolean | null;
  /** Every transaction in its binlog (its own and those it applied as a replica with log_slave_updates). */
  binlogPosition: string;
  /** What it applied as a replica (gtid_slave_pos); kept after the replica is reset. */
  appliedPosition: string;
  replica?: ReplicaState;
}

const stateUnexpected = (message: string) => failure(STEP_FAILURE.ReplicationStateUnexpected, message);

export async function readState(sql: Sql): Promise<ServerState> {
  const [vars] = await sql.rows(
    'read the replication variables',
    'SELECT @@global.read_only AS readOnly, @@global.gtid_binlog_pos AS binlogPosition, @@global.gtid_slave_pos AS appliedPosition',
  );
  const superRow = await sql.rows('look for super_read_only', "SHOW GLOBAL VARIABLES LIKE 'super_read_only'");
  const [status] = await sql.rows('read the replica status', 'SHOW SLAVE STATUS');
  const state: ServerState = {
    readOnly: Number(vars!.readOnly) === 1,
    superReadOnly: superRow[0] ? String(superRow[0].Value).toUpperCase() === 'ON' : null,
    binlogPosition: String(vars!.binlogPosition ?? ''),
    appliedPosition: String(vars!.appliedPosition ?? ''),
  };
  if (status && status.Master_Host) {
    state.replica = {
      primaryHost: String(status.Master_Host),
      primaryPort: Number(status.Master_Port),
      ioRunning: String(status.Slave_IO_Running),
      sqlRunning: String(status.Slave_SQL_Running),
      received: String(status.Gtid_IO_Pos ?? ''),
      secondsBehind: status.Seconds_Behind_Master === null ? null : Number(status.Seconds_Behind_Master),
      lastIoError: String(status.Last_IO_Error ?? ''),
      lastSqlError: String(status.Last_SQL_Error ?? ''),
    };
  }
  return state;
}

/** Transactions a replica received but has not applied. */
export function unapplied(state: ServerState): number {
  if (!state.replica) return 0;
  return transactionsMissing(parseGtidPosition(state.replica.received), parseGtidPosition(state.appliedPosition));
}

export interface FenceResult {
  readOnly: true;
  /** 'on', or 'not available' on servers without super_read_only (MariaDB: READ_ONLY ADMIN holders can still write). */
  superReadOnly: 'on' | 'not available';
  /** Client connections killed (replicas reading the binlog are left to receive the rest). */
  killedConnections: number;
  /** Its last transaction: what a replica must reach to lose nothing. */
  finalPosition: string;
}

/** Read-only, clients cut; idempotent (a second fence kills what reconnected and reports the same position). */
export async function fence(sql: Sql): Promise<FenceResult> {
  // Waits for commits in progress; after it, ordinary users' writes are refused.
  await sql.run('set read_only', 'SET GLOBAL read_only = ON');
  const hasSuper = (await sql.rows('look for super_read_only', "SHOW GLOBAL VARIABLES LIKE 'super_read_only'")).length > 0;
  if (hasSuper) await sql.run('set super_read_only', 'SET GLOBAL super_read_only = ON');
  const clients = await sql.rows(
    'list client connections',
    `SELECT id FROM information_schema.processlist
      WHERE id <> CONNECTION_ID()
        AND command NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker')
        AND user NOT IN ('system user', 'event_scheduler')`,
  );
  let killed = 0;
  for (const { id } of clients) {
    try {
      await sql.run(`kill connection ${id}`, 'KILL CONNECTION ?', [Number(id)]);
      killed++;
    } catch (error) {
      // Gone already (it ended between the list and the kill): that is what we wanted.
      if (!/Unknown thread id/i.test((error as Error).message)) throw error;
    }
  }
  const finalPosition = String(await sql.value('read the final position', 'SELECT @@global.gtid_binlog_pos'));
  return { readOnly: true, superReadOnly: hasSuper ? 'on' : 'not available', killedConnections: killed, finalPosition };
}

export async function unfence(sql: Sql): Promise<void> {
  const hasSuper = (await sql.rows('look for super_read_only', "SHOW GLOBAL VARIABLES LIKE 'super_read_only'")).length > 0;
  if (hasSuper) await sql.run('clear super_read_only', 'SET GLOBAL super_read_only = OFF');
  await sql.run('clear read_only', 'SET GLOBAL read_only = OFF');
}

/** Polls `read` every 200 ms until `done` or `timeoutMs`; `progress` is told each state (heartbeats). */
async function waitUntil(
  read: () => Promise<ServerState>,
  done: (s: ServerState) => boolean,
  timeoutMs: number,
  progress: (s: ServerState) => void,
): Promise<ServerState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await read();
    progress(state);
    if (done(state) || Date.now() >= deadline) return state;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface PromoteOptions {
  /** The old primary's last transaction (from its fence); unknown when it could not be reached. */
  primaryFinalPosition?: string;
  /** Transactions the promotion may lose (the RPO budget). */
  maxLostTransactions: number;
  /** Promote beyond the budget anyway; the reason is recorded. */
  force?: { reason: string };
  /** How long to wait for the replica to receive and apply (default 60 s). */
  catchUpTimeoutMs?: number;
  progress?: (state: ServerState) => void;
}

export interface PromoteResult {
  /** False when it already was a primary (a retried attempt): nothing was changed. */
  promoted: boolean;
  /** What it had applied from the old primary when promoted; the old primary must not hold more to follow it. */
  appliedAtPromotion: string;
  binlogPosition: string;
  rpo: {
    /** Transactions the old primary had that were not applied; null when the old primary's position is unknown. */
    lostTransactions: number | null;
    /** Received but never applied (a broken SQL thread); counted in lostTransactions too. */
    unappliedTransactions: number;
    /** The replica's own lag estimate when last running; null when unknown. */
    secondsBehind: number | null;
  };
  forced?: { reason: string };
  waitedMs: number;
}

/** Stops replication and makes the replica writable, only when what it lacks fits the budget. */
export async function promote(sql: Sql, options: PromoteOptions): Promise<PromoteResult> {
  const started = Date.now();
  const progress = options.progress ?? (() => undefined);
  const target = options.primaryFinalPosition !== undefined ? parseGtidPosition(options.primaryFinalPosition) : undefined;
  let state = await readState(sql);
  if (!state.replica) {
    if (state.readOnly) throw stateUnexpected(`${sql.server.name} is neither a replica nor a writable primary: nothing to promote`);
    // A retried attempt after the promotion: report it again from what the server kept.
    const applied = parseGtidPosition(state.appliedPosition);
    return {
      promoted: false,
      appliedAtPromotion: state.appliedPosition,
      binlogPosition: state.binlogPosition,
      rpo: { lostTransactions: target ? transactionsMissing(target, applied) : null, unappliedTransactions: 0, secondsBehind: null },
      waitedMs: 0,
    };
  }
  const timeout = options.catchUpTimeoutMs ?? 60_000;
  // Receive the rest while the old primary's binlog can still be read (a fenced primary is readable).
  if (target && state.replica.ioRunning === 'Yes')
    state = await waitUntil(
      () => readState(sql),
      (s) => covers(parseGtidPosition(s.replica?.received), target) || s.replica?.ioRunning !== 'Yes',
      timeout,
      progress,
    );
  // Apply everything received: a stopped SQL thread without an error is started for that.
  if (state.replica!.sqlRunning !== 'Yes' && !state.replica!.lastSqlError) {
    await sql.run('start applying what it received', 'START SLAVE SQL_THREAD');
    state = await readState(sql);
  }
  state = await waitUntil(
    () => readState(sql),
    (s) => unapplied(s) === 0 || s.replica?.sqlRunning !== 'Yes',
    timeout,
    progress,
  );
  const secondsBehind = state.replica!.secondsBehind;
  const notApplied = unapplied(state);
  const applied = parseGtidPosition(state.appliedPosition);
  const lost = target ? transactionsMissing(target, applied) : null;
  const lacking = lost ?? notApplied;
  if (lacking > options.maxLostTransactions && !options.force) {
    const why = state.replica!.lastSqlError ? ` (its SQL thread stopped: ${state.replica!.lastSqlError})` : '';
    throw failure(
      STEP_FAILURE.RpoBudgetExceeded,
      `${sql.server.name} lacks ${lacking} transaction(s) of the old primary${why}; the RPO budget is ${options.maxLostTransactions}: not promoted (force it with a reason to accept the loss)`,
      {
        details: [
          {
            lostTransactions: lost,
            unappliedTransactions: notApplied,
            applied: state.appliedPosition,
            primaryFinalPosition: options.primaryFinalPosition,
          },
        ],
      },
    );
  }
  await sql.run('stop replication', 'STOP SLAVE');
  await sql.run('forget the old primary', 'RESET SLAVE ALL');
  await unfence(sql);
  const after = await readState(sql);
  return {
    promoted: true,
    appliedAtPromotion: after.appliedPosition,
    binlogPosition: after.binlogPosition,
    rpo: { lostTransactions: lost, unappliedTransactions: notApplied, secondsBehind },
    ...(lacking > options.maxLostTransactions && options.force ? { forced: options.force } : {}),
    waitedMs: Date.now() - started,
  };
}

export interface ReplicationSource {
  host: string;
  port: number;
  user: string;
  password: string;
}

/**
 * Makes the server a read-only replica of `source` from the transactions it already has. Refused
 * when it holds transactions the new primary never had (`limit`: what the new primary had applied
 * from it when promoted, or else the new primary's own binlog): those must be re-seeded, not replayed.
 */
export async function replicateFrom(
  sql: Sql,
  source: ReplicationSource,
  limit: GtidPosition,
  /** The new primary's gtid_binlog_state: catches a server that wrote under a sequence number the primary used too. */
  primaryState?: GtidState,
  /** The new primary's gtid_slave_pos: where a re-seeded primary's copy began (see errantAgainst). */
  primaryFloor?: string,
): Promise<{ errant: 0; startedFrom: string }> {
  await sql.run('set read_only', 'SET GLOBAL read_only = ON');
  const state = await readState(sql);
  const ownState = primaryState
    ? parseGtidState(String(await sql.value('read the binlog state', 'SELECT @@global.gtid_binlog_state')))
    : undefined;
  const errant = Math.max(
    transactionsMissing(parseGtidPosition(state.binlogPosition), limit),
    ownState && primaryState ? errantAgainst(ownState, primaryState, primaryFloor) : 0,
  );
  if (errant > 0)
    throw failure(
      STEP_FAILURE.ErrantTransactions,
      `${sql.server.name} holds ${errant} transaction(s) the new primary never had (its binlog ${state.binlogPosition}): re-seed it from the new primary instead of re-pointing it`,
      { details: [{ errant, binlogPosition: state.binlogPosition }] },
    );
  if (
    state.replica &&
    state.replica.primaryHost === source.host &&
    state.replica.primaryPort === source.port &&
    state.replica.ioRunning !== 'No'
  )
    return { errant: 0, startedFrom: state.appliedPosition };
  await sql.run('stop replication', 'STOP SLAVE');
  // Its own binlog is where it stands: start after the last transaction it has.
  const from = state.binlogPosition || state.appliedPosition;
  await sql.run('set the replication start', 'SET GLOBAL gtid_slave_pos = ?', [from]);
  await sql.run(
    'point at the new primary',
    'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1',
    [source.host, source.port, source.user, source.password],
  );
  await sql.run('start replication', 'START SLAVE');
  return { errant: 0, startedFrom: from };
}

/** Stops following its primary and forgets it; read-only stays on (a failback's rebuild undone). */
export async function stopReplicating(sql: Sql): Promise<{ wasReplica: boolean }> {
  await sql.run('set read_only', 'SET GLOBAL read_only = ON');
  const state = await readState(sql);
  if (!state.replica) return { wasReplica: false };
  await sql.run('stop replication', 'STOP SLAVE');
  await sql.run('forget the primary', 'RESET SLAVE ALL');
  return { wasReplica: true };
}

/** The replica's link to its primary, as the failover assessment reads it (MariaDB's SHOW SLAVE STATUS). */
export interface ReplicaLink {
  primaryHost: string;
  primaryPort: number;
  /** 'Yes', 'No' or 'Connecting'. */
  ioRunning: string;
  lastIoErrno: number;
  lastIoError: string;
  /** Heartbeats received from the primary since the IO thread started. */
  heartbeats: number;
  /** Seconds between the primary's heartbeats on an idle link. */
  heartbeatPeriod: number;
  /** What it has read of the primary's binlog: changes whenever an event arrives. */
  readPosition: string;
}

/** Undefined when the server is not a replica. */
export async function readReplicaLink(sql: Sql): Promise<ReplicaLink | undefined> {
  // SHOW ALL SLAVES STATUS is SHOW SLAVE STATUS with the heartbeat columns; '' is the default connection.
  const status = (await sql.rows('read the replica status', 'SHOW ALL SLAVES STATUS')).find((row) => row.Connection_name === '');
  if (!status || !status.Master_Host) return undefined;
  return {
    primaryHost: String(status.Master_Host),
    primaryPort: Number(status.Master_Port),
    ioRunning: String(status.Slave_IO_Running),
    lastIoErrno: Number(status.Last_IO_Errno ?? 0),
    lastIoError: String(status.Last_IO_Error ?? ''),
    heartbeats: Number(status.Slave_received_heartbeats ?? 0),
    heartbeatPeriod: Number(status.Slave_heartbeat_period ?? 0),
    readPosition: `${String(status.Master_Log_File ?? '')}:${String(status.Read_Master_Log_Pos ?? '')} ${String(status.Gtid_IO_Pos ?? '')}`,
  };
}
