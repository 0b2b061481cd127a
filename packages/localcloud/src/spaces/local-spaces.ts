// The local cloud's own Spaces: one S3 server per state folder, with keys made on first start and
// kept (like the API token), so backups written yesterday are still readable today.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveS3ServerBinary } from './resolve-binary';
import { SpacesServer } from './s3-server';

export interface SpacesKeys {
  accessKey: string;
  secretKey: string;
}

function persistentKeys(stateDir: string): SpacesKeys {
  const file = path.join(stateDir, 'spaces-keys.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SpacesKeys;
  const keys = { accessKey: `DO00${randomBytes(8).toString('hex').toUpperCase()}`, secretKey: randomBytes(24).toString('base64url') };
  writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

/** Builds the S3 server on first use (once per machine), then starts it on address:port. */
export async function startLocalSpaces(
  stateDir: string,
  address: string,
  port: number,
): Promise<{ server: SpacesServer; keys: SpacesKeys }> {
  const binaryPath = await resolveS3ServerBinary();
  const keys = persistentKeys(stateDir);
  const server = new SpacesServer({ address, port, dataDir: path.join(stateDir, 'spaces'), binaryPath, ...keys });
  await server.start();
  return { server, keys };
}
