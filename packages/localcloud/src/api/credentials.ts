// The local cloud's two credentials: the DigitalOcean API token (a bearer token, as DigitalOcean
// takes it) and the control token, a different secret in its own header, made anew at every start,
// so that holding the API token (as the worker and every droplet's deploy do) never opens the
// control API. Compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';

export const CONTROL_TOKEN_HEADER = 'x-localcloud-control-token';
export const CONTROL_TOKEN_FILE = 'control-token';

/** A fresh control token, written 0600 to `<stateDir>/control-token` for the CLI and tests. */
export function newControlToken(stateDir: string): string {
  const token = `lcc_${randomBytes(32).toString('hex')}`;
  const file = path.join(stateDir, CONTROL_TOKEN_FILE);
  // Created afresh (never rewritten in place), so it is 0600 from its first byte.
  rmSync(file, { force: true });
  writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  return token;
}

/** Hashing first makes the comparison constant-time whatever the lengths. */
function sameSecret(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export interface Credentials {
  apiToken: string;
  controlToken: string;
}

export function carriesApiToken(headers: IncomingHttpHeaders, credentials: Credentials): boolean {
  return sameSecret(headers.authorization, `Bearer ${credentials.apiToken}`);
}

export function carriesControlToken(headers: IncomingHttpHeaders, credentials: Credentials): boolean {
  return sameSecret(headers[CONTROL_TOKEN_HEADER], credentials.controlToken);
}
