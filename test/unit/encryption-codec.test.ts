// The payload codec alone: what it writes is ciphertext, what it reads back is the same payload,
// and it refuses what it cannot authenticate or has no key for.
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { EncryptionCodec, KEY_ID_METADATA } from '../../src/temporal/codec/encryption-codec';
import { codecKeysFromEnv, parseCodecKeys } from '../../src/temporal/codec/keys';
import { dataConverterFromEnv, isLocalTemporal } from '../../src/temporal/codec/data-converter';
import { tempDir } from '../helpers/temp';

const keyText = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const SECRET = { password: 'correct-horse-battery', address: '10.20.30.40' };
const meta = (p: Payload, key: string) => Buffer.from(p.metadata![key]!).toString();

describe('EncryptionCodec', () => {
  const k1 = keyText('k1');
  const payload = defaultPayloadConverter.toPayload(SECRET);

  test('round trip: the stored bytes hold nothing of the value, decoding gives it back', async () => {
    const codec = new EncryptionCodec(parseCodecKeys(k1, 'test'));
    const [encoded] = await codec.encode([payload]);
    expect(meta(encoded!, 'encoding')).toBe('binary/encrypted');
    expect(meta(encoded!, KEY_ID_METADATA)).toBe('k1');
    const stored = Buffer.concat([Buffer.from(encoded!.data!), ...Object.values(encoded!.metadata!).map((v) => Buffer.from(v))]).toString(
      'latin1',
    );
    expect(stored).not.toContain('correct-horse-battery');
    expect(stored).not.toContain('json/plain'); // the inner metadata is encrypted too
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(SECRET);
    // Two encodings of one value differ (fresh IV), so equal secrets are not recognisable.
    const [again] = await codec.encode([payload]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(encoded!.data!))).toBe(false);
  });

  test('a tampered ciphertext or a relabelled key id is refused, naming the key', async () => {
    const codec = new EncryptionCodec(parseCodecKeys(k1, 'test'));
    const [encoded] = await codec.encode([payload]);
    const flipped = Buffer.from(encoded!.data!);
    flipped[20] = flipped[20]! ^ 1;
    await expect(codec.decode([{ ...encoded!, data: flipped }])).rejects.toThrow(/key k1 failed authentication/);
    // Same key material under another id: the id is authenticated data, so this fails too.
    const k1Value = k1.slice(3);
    const twin = new EncryptionCodec(parseCodecKeys(`k1:${k1Value}\nk9:${k1Value}`, 'test'));
    const relabelled = { ...encoded!, metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: Buffer.from('k9') } };
    await expect(twin.decode([relabelled])).rejects.toThrow(/key k9 failed authentication/);
  });

  test('rotation: a new first key encrypts, the old one still decrypts', async () => {
    const k2 = keyText('k2');
    const before = new EncryptionCodec(parseCodecKeys(k1, 'test'));
    const after = new EncryptionCodec(parseCodecKeys(`${k2}\n${k1}`, 'test'));
    const [old] = await before.encode([payload]);
    expect(defaultPayloadConverter.fromPayload((await after.decode([old!]))[0]!)).toEqual(SECRET);
    const [fresh] = await after.encode([payload]);
    expect(meta(fresh!, KEY_ID_METADATA)).toBe('k2');
    expect(defaultPayloadConverter.fromPayload((await after.decode([fresh!]))[0]!)).toEqual(SECRET);
  });

  test('a payload under a key this process does not hold names that key id', async () => {
    const [fresh] = await new EncryptionCodec(parseCodecKeys(keyText('k2'), 'test')).encode([payload]);
    await expect(new EncryptionCodec(parseCodecKeys(k1, 'test')).decode([fresh!])).rejects.toThrow(
      /encrypted with key k2, which this process does not hold \(it holds: k1\)/,
    );
  });

  test('payloads written before the codec was turned on pass through decoding', async () => {
    const codec = new EncryptionCodec(parseCodecKeys(k1, 'test'));
    expect(await codec.decode([payload])).toEqual([payload]);
  });
});

describe('codec keys', () => {
  test('bad keys are refused naming the entry, never echoing the value', () => {
    expect(() => parseCodecKeys('k1:c2hvcnQ=', 'OPSFLOW_CODEC_KEYS')).toThrow('OPSFLOW_CODEC_KEYS: key k1 must be 32 bytes in base64');
    expect(() => parseCodecKeys('no-colon-here', 'OPSFLOW_CODEC_KEYS')).toThrow(/entry 1 must look like id:base64/);
    const dup = keyText('k1');
    expect(() => parseCodecKeys(`${dup},${dup}`, 'X')).toThrow('X: key id k1 is listed twice');
    let message = '';
    try {
      parseCodecKeys('k1:c2VjcmV0LXZhbHVl', 'X');
    } catch (err) {
      message = String(err);
    }
    expect(message).toContain('X: key k1 must be 32 bytes');
    expect(message).not.toContain('c2VjcmV0LXZhbHVl');
  });

  test('a key file open to others is refused; a 0600 one is read', () => {
    const file = path.join(tempDir('codec-keys'), 'keys');
    writeFileSync(file, `# rotated 2026-12\n${keyText('new')}\n${keyText('old')}\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
    expect(() => codecKeysFromEnv({ OPSFLOW_CODEC_KEY_FILE: file })).toThrow(/is open to group or others \(mode 644\); chmod 600 it/);
    chmodSync(file, 0o600);
    const keys = codecKeysFromEnv({ OPSFLOW_CODEC_KEY_FILE: file })!;
    expect(keys.encryptWith).toBe('new');
    expect([...keys.keys.keys()]).toEqual(['new', 'old']);
  });

  test('production targets refuse to run without a key; local ones may', () => {
    expect(isLocalTemporal('127.0.0.1:7233')).toBe(true);
    expect(isLocalTemporal('localhost:7233')).toBe(true);
    expect(isLocalTemporal('temporal:7233')).toBe(false);
    expect(isLocalTemporal('ns.a1b2c.tmprl.cloud:7233')).toBe(false);
    expect(dataConverterFromEnv({}, '127.0.0.1:7233')).toBeUndefined();
    expect(() => dataConverterFromEnv({}, 'temporal:7233')).toThrow(
      /the Temporal server temporal:7233 is not on this machine, and no payload encryption key is configured/,
    );
    expect(() => dataConverterFromEnv({ OPSFLOW_REQUIRE_CODEC: '1' }, '127.0.0.1:7233')).toThrow(/OPSFLOW_REQUIRE_CODEC=1/);
    expect(dataConverterFromEnv({ OPSFLOW_CODEC_KEYS: keyText('k1') }, 'temporal:7233')?.payloadCodecs).toHaveLength(1);
  });
});
