// Real PostgreSQL and MariaDB on this machine (127.0.0.1:5432 as postgres, 127.0.0.1:3306 as root):
// each test makes databases with unique names, seeds them, and drops them at the end.
import { randomBytes } from 'node:crypto';
import { runToCompletion } from '../../src/backups/command-runner';
import type { DatabaseAccess } from '../../src/backups/database';
import { localRunner } from '../../src/backups/local-runner';

export const PG: DatabaseAccess = { runner: localRunner(), host: '127.0.0.1', port: 5432, user: 'postgres' };
export const MARIADB: DatabaseAccess = { runner: localRunner(), host: '127.0.0.1', port: 3306, user: 'root' };

export const uniqueDbName = (prefix: string) => `opsflow_${prefix}_${randomBytes(4).toString('hex')}`;

export function psql(database: string, sql: string): Promise<string> {
  return runToCompletion(PG.runner, {
    argv: ['psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-U', 'postgres', '-w', '-d', database],
    input: sql,
  });
}

export function mariadbQuery(database: string | undefined, sql: string): Promise<string> {
  return runToCompletion(MARIADB.runner, {
    argv: ['mariadb', '--no-defaults', '--protocol=TCP', '-h', '127.0.0.1', '-u', 'root', '-N', '-B', ...(database ? [database] : [])],
    input: sql,
  });
}

/** Tables of several types (unicode, newlines, NULLs, bytea, jsonb, arrays, odd names) and `bulkRows` of md5 text. */
export async function seedPostgres(database: string, bulkRows = 2000): Promise<void> {
  await psql('postgres', `CREATE DATABASE "${database}";`);
  await psql(
    database,
    `
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, note text, balance numeric(12,2), score float8, born date, seen timestamptz, tags text[], data jsonb, photo bytea);
INSERT INTO customers (name, note, balance, score, born, seen, tags, data, photo)
SELECT 'customer ' || g || ' – ünïcødé ✓', CASE WHEN g % 3 = 0 THEN NULL ELSE E'line one\\nline\\ttwo ''quoted''' END, g * 1.25, g / 7.0, DATE '2000-01-01' + g, TIMESTAMPTZ '2026-01-01 00:00:00+00' + g * INTERVAL '1 minute',
       ARRAY['a' || g, 'b'], jsonb_build_object('n', g, 'even', g % 2 = 0), decode(md5(g::text), 'hex')
FROM generate_series(1, 500) g;
CREATE SCHEMA "Sales Data";
CREATE TABLE "Sales Data"."order lines" (customer int REFERENCES customers(id), sku text, qty int);
INSERT INTO "Sales Data"."order lines" SELECT 1 + g % 500, 'SKU-' || g, g % 9 FROM generate_series(1, 3000) g;
CREATE TABLE empty_table (id int);
CREATE TABLE bulk (id bigint PRIMARY KEY, a text, b text, c text);
INSERT INTO bulk SELECT g, md5(g::text), md5((g * 2)::text), repeat(md5((g * 3)::text), 2) FROM generate_series(1, ${bulkRows}) g;
CREATE VIEW big_customers AS SELECT * FROM customers WHERE balance > 100;
`,
  );
}

export async function seedMariadb(database: string, bulkRows = 2000): Promise<void> {
  await mariadbQuery(undefined, `CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4;`);
  await mariadbQuery(
    database,
    `
CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL, note TEXT, balance DECIMAL(12,2), score DOUBLE, born DATE, seen DATETIME(3), data JSON, photo BLOB) ENGINE=InnoDB;
INSERT INTO customers (name, note, balance, score, born, seen, data, photo)
SELECT CONCAT('customer ', seq, ' – ünïcødé ✓'), IF(seq % 3 = 0, NULL, 'line one\\nline\\ttwo ''quoted'''), seq * 1.25, seq / 7, DATE('2000-01-01') + INTERVAL seq DAY, TIMESTAMP('2026-01-01 00:00:00.123') + INTERVAL seq MINUTE,
       JSON_OBJECT('n', seq, 'even', seq % 2 = 0), UNHEX(MD5(seq))
FROM seq_1_to_500;
CREATE TABLE \`order lines\` (customer INT, sku VARCHAR(40), qty INT, FOREIGN KEY (customer) REFERENCES customers(id)) ENGINE=InnoDB;
INSERT INTO \`order lines\` SELECT 1 + seq % 500, CONCAT('SKU-', seq), seq % 9 FROM seq_1_to_3000;
CREATE TABLE empty_table (id INT) ENGINE=InnoDB;
CREATE TABLE bulk (id BIGINT PRIMARY KEY, a CHAR(32), b CHAR(32), c VARCHAR(64)) ENGINE=InnoDB;
INSERT INTO bulk SELECT seq, MD5(seq), MD5(seq * 2), REPEAT(MD5(seq * 3), 2) FROM seq_1_to_${bulkRows};
CREATE VIEW big_customers AS SELECT * FROM customers WHERE balance > 100;
`,
  );
}

export async function dropPostgres(...databases: string[]): Promise<void> {
  for (const db of databases) await psql('postgres', `DROP DATABASE IF EXISTS "${db}" WITH (FORCE);`);
}

export async function dropMariadb(...databases: string[]): Promise<void> {
  for (const db of databases) await mariadbQuery(undefined, `DROP DATABASE IF EXISTS \`${db}\`;`);
}
