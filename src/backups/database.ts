// What a database engine must provide to be backed up, verified and restored. Everything runs
// through a CommandRunner with the engine's own client tools, so the same code works on the worker
// (by connection) and inside a droplet's container (over SSH).
import { createHash } from 'node:crypto';
import type { CommandRunner, RunningCommand } from './command-runner';
import type { DumpSource } from './dump-source';
import type { DumpFormat, TableStats } from './keys';

export interface DatabaseAccess {
  runner: CommandRunner;
  /** Absent inside a container reached with `docker exec`: the tools' defaults (local socket) apply. */
  host?: string;
  port?: number;
  user?: string;
  /** Resolved by the activity; passed to the tools in their environment only. */
  password?: string;
}

export interface PreparedDump {
  source: DumpSource;
  format: DumpFormat;
  /** Row counts and checksums of the very data the dump will hold (see each engine for how). */
  tables: TableStats[];
  serverVersion: string;
  toolVersion: string;
  /** The database's size on disk: sizes the upload's parts (S3 allows 10,000 per object). */
  sizeHint?: number;
  /** Ends what the dump needed held open (PostgreSQL's exporting transaction). Always call it. */
  release(): Promise<void>;
}

export interface DatabaseEngine {
  readonly kind: 'postgresql' | 'mysql' | 'mariadb';
  /** What its dumps hold, and the only format its restore reads. */
  readonly dumpFormat: DumpFormat;
  prepareDump(access: DatabaseAccess, database: string): Promise<PreparedDump>;
  tableStats(access: DatabaseAccess, database: string): Promise<TableStats[]>;
  exists(access: DatabaseAccess, database: string): Promise<boolean>;
  /** Creates an empty database to restore into. */
  create(access: DatabaseAccess, database: string): Promise<void>;
  /** Drops it, closing other sessions; a database already gone is fine. */
  drop(access: DatabaseAccess, database: string): Promise<void>;
  /** Starts the client that reads a dump (of dumpFormat, verified and authenticated) on stdin into `database`. */
  startRestore(access: DatabaseAccess, database: string): Promise<{ running: RunningCommand; command: string; where: string }>;
  /**
   * Engines that can rename databases atomically restore into a staging database, then put it in
   * place of `database` in one transaction (dropping what it replaced): a restore cut off at any
   * point leaves `database` either untouched or fully restored. Without it, `database` is dropped first.
   */
  replaceWith?(access: DatabaseAccess, staging: string, database: string): Promise<void>;
}

/** The staging database a restore into `database` goes to first, and the name the replaced one gets (<= 63 characters). */
export function restoreStagingNames(database: string): { staging: string; replaced: string } {
  const id = createHash('sha256').update(database).digest('hex').slice(0, 16);
  return { staging: `opsflow_restoring_${id}`, replaced: `opsflow_replaced_${id}` };
}

/** Names this module puts in SQL: the spec allows letters, digits, `_`, `$` and `-` only. */
export function assertDatabaseName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(name)) throw new Error(`not a database name opsflow accepts: ${JSON.stringify(name)}`);
  return name;
}

/** First line of a tool's output (`pg_dump (PostgreSQL) 15.20 ...`). */
export const firstLine = (text: string) => text.split('\n')[0]?.trim() ?? '';
