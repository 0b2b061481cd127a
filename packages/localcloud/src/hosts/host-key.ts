// A droplet's SSH host key: made once when the droplet first boots and kept in its folder, so the
// fingerprint a client pins on first contact stays right for the droplet's whole life.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { utils } from 'ssh2';

export interface KeyPair {
  public: string;
  private: string;
}

/**
 * An ed25519 pair in OpenSSH format. ssh2's generator drops a leading zero byte of the public key
 * about once in 200 keys, producing a key that ssh2, OpenSSH and DigitalOcean all refuse; such a
 * pair is thrown away and generated again.
 */
export function generateEd25519(): KeyPair {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.public) instanceof Error) && !(utils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw new Error('could not generate a well-formed ed25519 key pair in 20 attempts');
}

/** Loads the host key kept at `file`, creating it on first use. Returns the private key. */
export function loadOrCreateHostKey(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const pair = generateEd25519();
  writeFileSync(file, pair.private, { mode: 0o600 });
  writeFileSync(`${file}.pub`, pair.public + '\n');
  return pair.private;
}

/** OpenSSH's SHA256 fingerprint (as `ssh-keygen -l` prints it) of a public key blob. */
export function sha256Fingerprint(publicKeyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '');
}

/** The fingerprint of a key given as an OpenSSH public or private key string. */
export function fingerprintOf(key: string): string {
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) throw new Error(`not an SSH key: ${parsed.message}`);
  const one = Array.isArray(parsed) ? parsed[0] : parsed;
  return sha256Fingerprint(one.getPublicSSH());
}
