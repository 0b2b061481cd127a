// Host key fingerprints as OpenSSH prints them (`ssh-keygen -lf`): SHA256, base64 without padding.
import { createHash } from 'node:crypto';

export const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** The fingerprint of a public key blob (the SSH wire encoding, as ssh2 hands it to hostVerifier). */
export function sha256Fingerprint(publicKeyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '');
}

/** Accepts `SHA256:...` as given, also without the prefix or with base64 padding. */
export function normalizeFingerprint(fingerprint: string): string {
  const bare = fingerprint
    .trim()
    .replace(/^SHA256:/i, '')
    .replace(/=+$/, '');
  const normal = `SHA256:${bare}`;
  if (!FINGERPRINT.test(normal))
    throw new Error(`${JSON.stringify(fingerprint)} is not an OpenSSH SHA256 host key fingerprint (SHA256:<43 base64 characters>)`);
  return normal;
}
