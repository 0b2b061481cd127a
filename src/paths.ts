// Where the checkout and its ignored state folder are, whether running from src/ (tests) or dist/.
// The state folder holds keys, tokens, logs and history: it is the user's alone (0700, files 0600).
import { chmodSync, fchmodSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** Dev-stack state: Temporal history database, logs, pid files. Ignored by git. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OPSFLOW_STATE_DIR ? path.resolve(env.OPSFLOW_STATE_DIR) : path.join(PROJECT_ROOT, '.opsflow');
}

/** Creates a private folder (0700), tightening one an older version left open; returns it. */
export function ensurePrivateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

/** The state folder, created private (or tightened). */
export function ensureStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return ensurePrivateDir(stateDir(env));
}

/** A log file opened for appending, 0600 (tightened if it existed): logs name hosts, paths and ids. */
export function openPrivateLog(file: string): number {
  const fd = openSync(file, 'a', 0o600);
  fchmodSync(fd, 0o600);
  return fd;
}

/** Runs fn (a spawn) with umask 077, so what the child creates is private; the umask is restored. */
export function withPrivateUmask<T>(fn: () => T): T {
  const previous = process.umask(0o077);
  try {
    return fn();
  } finally {
    process.umask(previous);
  }
}
