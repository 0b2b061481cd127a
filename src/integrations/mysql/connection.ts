// One SQL connection to a MySQL-compatible server (MariaDB here) through mysql2, with the password
// resolved on the worker from a secret reference: a workflow names the server and the reference,
// never the password. Every failure leaves as a named one (errors.ts).
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { databaseFailure } from './errors';

/** A database server as a workflow names it. */
export interface DatabaseServer {
  /** How steps and messages call it ("fra1 primary"). */
  name: string;
  host: string;
  port: number;
  /** An administrative user (REPLICATION SLAVE ADMIN, READ_ONLY ADMIN, CONNECTION ADMIN or SUPER). */
  user: string;
  /** A secret reference (`env:NAME`, `file:/path`) for the user's password; none for no password. */
  password?: string;
}

export type ResolveSecret = (ref: string) => string | Promise<string>;

export async function connect(server: DatabaseServer, resolveSecret: ResolveSecret): Promise<Connection> {
  const password = server.password === undefined ? undefined : await resolveSecret(server.password);
  try {
    return await createConnection({
      host: server.host,
      port: server.port,
      user: server.user,
      password,
      connectTimeout: 10_000,
      // One statement per call: nothing a value carries can become a second statement.
      multipleStatements: false,
    });
  } catch (error) {
    throw databaseFailure(`connect to ${server.name} (${server.host}:${server.port})`, error);
  }
}

/** Runs `fn` on a fresh connection, closed afterwards whatever happened. */
export async function withConnection<T>(server: DatabaseServer, resolveSecret: ResolveSecret, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const connection = await connect(server, resolveSecret);
  try {
    return await fn(new Sql(connection, server));
  } finally {
    connection.destroy();
  }
}

/** Statements on one server, each failure named after the server and what it was doing. */
export class Sql {
  constructor(
    readonly connection: Connection,
    readonly server: DatabaseServer,
  ) {}

  async rows(what: string, statement: string, values: unknown[] = []): Promise<RowDataPacket[]> {
    try {
      const [rows] = await this.connection.query<RowDataPacket[]>(statement, values);
      return rows;
    } catch (error) {
      throw databaseFailure(`${what} on ${this.server.name}`, error);
    }
  }

  async run(what: string, statement: string, values: unknown[] = []): Promise<void> {
    await this.rows(what, statement, values);
  }

  async value<T = unknown>(what: string, statement: string, values: unknown[] = []): Promise<T> {
    const [row] = await this.rows(what, statement, values);
    return (row ? Object.values(row)[0] : undefined) as T;
  }
}
