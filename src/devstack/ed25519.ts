// A fresh ed25519 key pair in OpenSSH format, for the deploy key `opsflow up` makes once.
import { utils } from 'ssh2';

export interface KeyPair {
  public: string;
  private: string;
}

/**
 * ssh2's generator drops a leading zero byte of the public key about once in 200 keys, producing a
 * key that ssh2, OpenSSH and DigitalOcean all refuse; such a pair is thrown away and made again.
 */
export function generateEd25519(): KeyPair {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.public) instanceof Error) && !(utils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw new Error('could not generate a well-formed ed25519 key pair in 20 attempts');
}
