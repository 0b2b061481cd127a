// The codec's AES-256 keys, read from the process environment (OPSFLOW_CODEC_KEYS) or a key file
// only its owner can read (OPSFLOW_CODEC_KEY_FILE). The first key listed encrypts; the others are
// kept so payloads written before a rotation still decrypt. Errors name the variable, the file or
// the key id, never a key's value.
import { readFileSync, statSync } from 'node:fs';

export interface CodecKeys {
  /** The key new payloads are encrypted with. */
  encryptWith: string;
  /** Every key this process can decrypt with, by id. */
  keys: Map<string, Buffer>;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses `id:base64key` entries (commas or new lines between them; `#` starts a comment line). */
export function parseCodecKeys(text: string, source: string): CodecKeys {
  const entries = text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (entries.length === 0) throw new Error(`${source}: no keys (expected id:base64-of-32-bytes, the first one encrypts)`);
  const keys = new Map<string, Buffer>();
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    const value = colon > 0 ? entry.slice(colon + 1).trim() : '';
    if (!KEY_ID.test(id))
      throw new Error(
        `${source}: entry ${index + 1} must look like id:base64-of-32-bytes with an id of letters, digits, . _ - (at most 64)`,
      );
    const key = BASE64.test(value) ? Buffer.from(value, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) throw new Error(`${source}: key ${id} must be 32 bytes in base64 (openssl rand -base64 32)`);
    if (keys.has(id)) throw new Error(`${source}: key id ${id} is listed twice`);
    keys.set(id, key);
  });
  return { encryptWith: [...keys.keys()][0]!, keys };
}

/** Reads a file of secrets, refusing one that group or others could read; `label` names its setting. */
export function readOwnerOnlyFile(file: string, label: string): string {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat) throw new Error(`${label}: ${file} does not exist`);
  if ((stat.mode & 0o077) !== 0)
    throw new Error(`${label}: ${file} is open to group or others (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`);
  return readFileSync(file, 'utf8');
}

export function readCodecKeyFile(file: string): CodecKeys {
  return parseCodecKeys(readOwnerOnlyFile(file, 'OPSFLOW_CODEC_KEY_FILE'), `OPSFLOW_CODEC_KEY_FILE ${file}`);
}

/** The keys the environment configures, or undefined when it configures none. */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv): CodecKeys | undefined {
  const inline = env.OPSFLOW_CODEC_KEYS?.trim();
  const file = env.OPSFLOW_CODEC_KEY_FILE?.trim();
  if (inline && file) throw new Error('OPSFLOW_CODEC_KEYS and OPSFLOW_CODEC_KEY_FILE are both set: set one');
  if (file) return readCodecKeyFile(file);
  if (inline) return parseCodecKeys(inline, 'OPSFLOW_CODEC_KEYS');
  return undefined;
}
