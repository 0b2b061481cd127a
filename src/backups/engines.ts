// The database engine for a target's kind.
import type { DatabaseEngine } from './database';
import { mariadb, mysql } from './mariadb';
import { postgresql } from './postgres';

const ENGINES: Record<DatabaseEngine['kind'], DatabaseEngine> = { postgresql, mariadb, mysql };

export function engineFor(kind: DatabaseEngine['kind']): DatabaseEngine {
  return ENGINES[kind];
}
