// A payload codec that encrypts every payload with AES-256-GCM before it leaves the process, so
// the Temporal server stores workflow inputs, results, heartbeats and failures as ciphertext.
// The whole payload (its metadata too) is serialized and encrypted; the envelope says only
// `encoding: binary/encrypted` and which key id encrypted it. The key id is also the GCM
// additional data, so a payload relabelled with another id fails authentication.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { CodecKeys } from './keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly config: CodecKeys) {
    if (!config.keys.has(config.encryptWith))
      throw new ValueError(`the encryption key ${config.encryptWith} is not among the codec's keys`);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) =>
      utf8(payload.metadata?.[METADATA_ENCODING_KEY]) === ENCRYPTED_ENCODING ? this.decrypt(payload) : payload,
    );
  }

  private encrypt(payload: Payload): Payload {
    const keyId = this.config.encryptWith;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.config.keys.get(keyId)!, iv);
    cipher.setAAD(Buffer.from(keyId));
    const clear = temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(clear), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(keyId) },
      data: sealed,
    };
  }

  private decrypt(payload: Payload): Payload {
    const keyId = utf8(payload.metadata?.[KEY_ID_METADATA]);
    if (!keyId) throw new ValueError(`an encrypted payload has no ${KEY_ID_METADATA}`);
    const key = this.config.keys.get(keyId);
    if (!key)
      throw new ValueError(
        `a payload is encrypted with key ${keyId}, which this process does not hold (it holds: ${[...this.config.keys.keys()].join(', ')})`,
      );
    const sealed = Buffer.from(payload.data ?? new Uint8Array());
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new ValueError(`a payload encrypted with key ${keyId} is too short to be one`);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(keyId));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    let clear: Buffer;
    try {
      clear = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new ValueError(
        `a payload encrypted with key ${keyId} failed authentication: it was altered or the key is not the one that encrypted it`,
      );
    }
    return temporal.api.common.v1.Payload.decode(clear);
  }
}
