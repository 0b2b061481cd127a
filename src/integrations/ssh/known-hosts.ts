// OpenSSH known_hosts lookups (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"): which host keys a file
// accepts for a host and port, as SHA256 fingerprints to pin on a connection. Plain and hashed
// (`|1|salt|hash`, from `ssh-keygen -H` or HashKnownHosts) names, `[host]:port` for ports other
// than 22, `*` and `?` wildcards, `!` negations. Keys marked @revoked are never accepted, for any
// line; @cert-authority lines are skipped (ssh2 does not verify host certificates), and counted so
// a failure can say why such a file did not help.
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sha256Fingerprint } from './fingerprint';

export interface KnownHostsMatch {
  /** Fingerprints of the keys the file accepts for the host (never a revoked one). */
  fingerprints: string[];
  /** Fingerprints the file marks @revoked for the host. */
  revoked: string[];
  /** Lines naming the host only as a certificate authority, which opsflow cannot use. */
  certificateAuthorities: number;
}

/** The name OpenSSH looks a host up by: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** OpenSSH's pattern matching: `*` any run of characters, `?` any one, everything else literal. */
function globMatches(pattern: string, text: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(text);
}

/** `|1|<base64 salt>|<base64 HMAC-SHA1(salt, name)>`. */
function hashedMatches(field: string, name: string): boolean {
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1' || !parts[2] || !parts[3]) return false;
  const salt = Buffer.from(parts[2], 'base64');
  const expected = Buffer.from(parts[3], 'base64');
  if (salt.length === 0 || expected.length !== 20) return false;
  return createHmac('sha1', salt).update(name).digest().equals(expected);
}

/** Whether a hostnames field names `name`: some pattern matches and no negated one does. */
function hostsFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedMatches(field, name);
  let matched = false;
  for (const entry of field.split(',')) {
    const negated = entry.startsWith('!');
    const pattern = (negated ? entry.slice(1) : entry).toLowerCase();
    if (!pattern || !globMatches(pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** The key blob of a line, if its base64 decodes to a key of the type the line names. */
function keyBlob(type: string | undefined, base64: string | undefined): Buffer | undefined {
  if (!type || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return undefined;
  const blob = Buffer.from(base64, 'base64');
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length > blob.length - 4 || blob.subarray(4, 4 + length).toString('latin1') !== type) return undefined;
  return blob;
}

/** The keys known_hosts text accepts for `host` on `port`. Malformed lines are ignored, as ssh does. */
export function lookupKnownHosts(text: string, host: string, port: number): KnownHostsMatch {
  const name = knownHostsName(host, port);
  const accepted: string[] = [];
  const revoked: string[] = [];
  let certificateAuthorities = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]?.startsWith('@')) marker = fields.shift();
    const [hosts, type, base64] = fields;
    if (!hosts || !hostsFieldMatches(hosts, name)) continue;
    if (marker === '@cert-authority') {
      certificateAuthorities++;
      continue;
    }
    if (marker !== undefined && marker !== '@revoked') continue; // a marker ssh does not know: the line is invalid
    const blob = keyBlob(type, base64);
    if (!blob) continue;
    (marker === '@revoked' ? revoked : accepted).push(sha256Fingerprint(blob));
  }
  const fingerprints = [...new Set(accepted.filter((f) => !revoked.includes(f)))];
  return { fingerprints, revoked: [...new Set(revoked)], certificateAuthorities };
}

/** Reads a known_hosts file; a file that does not exist knows no hosts. */
export async function readKnownHosts(file: string, host: string, port: number): Promise<KnownHostsMatch & { fileExists: boolean }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { fingerprints: [], revoked: [], certificateAuthorities: 0, fileExists: false };
    throw err;
  }
  return { ...lookupKnownHosts(text, host, port), fileExists: true };
}
