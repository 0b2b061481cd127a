// Payload encryption for tests: fresh keys per test process (never written anywhere) and the
// workflow bundle built with opsflow's failure converter, once per jest run.
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { bundleWorkflowCode } from '@temporalio/worker';
import { codecDataConverter, FAILURE_CONVERTER_PATH } from '../../src/temporal/codec/data-converter';
import { parseCodecKeys, type CodecKeys } from '../../src/temporal/codec/keys';
import { workflowBundlePath } from './temporal';

/** What workers and clients of a test share when the codec is on. */
export interface TestCodec {
  /** The keys as OPSFLOW_CODEC_KEYS takes them (for the CLI in-process). */
  keyText: string;
  keys: CodecKeys;
  dataConverter: DataConverter;
  /** The test workflows bundled with the encoding failure converter. */
  workflowBundlePath: string;
}

/** `id:base64` entries as OPSFLOW_CODEC_KEYS takes them. */
export function newCodecKeyText(id: string): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

async function codecWorkflowBundle(): Promise<string> {
  const file = workflowBundlePath().replace(/\.js$/, `-codec-${process.env.OPSFLOW_TEST_RUN ?? 'adhoc'}.js`);
  if (existsSync(file)) return file;
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../fixtures/workflows'),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  // Two test files may build it at once: each writes its own and renames it into place.
  const temp = `${file}.${process.pid}`;
  writeFileSync(temp, code);
  renameSync(temp, file);
  return file;
}

export async function startTestCodec(keyText = newCodecKeyText('test-1')): Promise<TestCodec> {
  const keys = parseCodecKeys(keyText, 'test codec keys');
  return { keyText, keys, dataConverter: codecDataConverter(keys), workflowBundlePath: path.resolve(await codecWorkflowBundle()) };
}
