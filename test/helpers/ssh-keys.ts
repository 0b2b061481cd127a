// SSH key pairs for tests. ssh2's generateKeyPairSync('ed25519') drops a leading zero byte of the
// public key about once in 200 keys (the blob then says 31 bytes), producing a key that ssh2 itself,
// OpenSSH and DigitalOcean all refuse; such a pair is thrown away and generated again.
import { utils } from 'ssh2';

export function generateEd25519(): { public: string; private: string } {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519');
    const pub = utils.parseKey(pair.public);
    const priv = utils.parseKey(pair.private);
    if (!(pub instanceof Error) && !(priv instanceof Error)) return pair;
  }
  throw new Error('could not generate a well-formed ed25519 key pair in 20 attempts');
}
