// One data converter for every process that talks to Temporal (worker, opsflow CLI, schedules,
// tests): the encryption codec on payloads and the encoding failure converter. The codec runs
// outside the workflow sandbox; only the failure converter's path goes into the workflow bundle.
import { readFileSync } from 'node:fs';
import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec } from './encryption-codec';
import { FAILURE_CONVERTER_MARK } from './failure-converter';
import { codecKeysFromEnv, type CodecKeys } from './keys';

export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

export function codecDataConverter(keys: CodecKeys): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(keys)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

const LOOPBACK_HOSTS = new Set(['localhost', '::1', '[::1]']);

/** A Temporal server on this machine; anything else is treated as production. */
export function isLocalTemporal(address: string): boolean {
  const host = address.replace(/:\d+$/, '').toLowerCase();
  return LOOPBACK_HOSTS.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * The data converter the environment asks for. Without keys it refuses a production target (a
 * Temporal server not on this machine, or OPSFLOW_REQUIRE_CODEC=1): payloads would be stored in clear.
 */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv, temporalAddress: string): DataConverter | undefined {
  const keys = codecKeysFromEnv(env);
  if (keys) return codecDataConverter(keys);
  const why =
    env.OPSFLOW_REQUIRE_CODEC === '1'
      ? 'OPSFLOW_REQUIRE_CODEC=1 is set'
      : !isLocalTemporal(temporalAddress)
        ? `the Temporal server ${temporalAddress} is not on this machine`
        : undefined;
  if (why)
    throw new Error(
      `${why}, and no payload encryption key is configured: set OPSFLOW_CODEC_KEY_FILE (a 0600 file of id:base64 keys) or OPSFLOW_CODEC_KEYS, so inputs, results and failures are not stored in clear`,
    );
  return undefined;
}

/** A prebuilt workflow bundle must carry the encoding failure converter, or workflow failures go out in clear. */
export function requireCodecBundle(bundlePath: string): void {
  if (!readFileSync(bundlePath, 'utf8').includes(FAILURE_CONVERTER_MARK)) {
    throw new Error(
      `the workflow bundle ${bundlePath} was built without opsflow's failure converter: bundle it with failureConverterPath: ${FAILURE_CONVERTER_PATH}`,
    );
  }
}
