// The worker's start refuses a production Temporal without payload encryption keys, before it
// connects, and refuses a prebuilt workflow bundle that would send workflow failures in clear.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runWorkerFromEnv } from '../../src/worker';
import { newCodecKeyText } from '../helpers/codec';
import { tempDir } from '../helpers/temp';

const base = { OPSFLOW_METRICS_ADDRESS: 'off', OPSFLOW_LOG_LEVEL: 'ERROR' as const };

test('a Temporal server not on this machine, and no key: the worker refuses to start, saying what to set', async () => {
  await expect(runWorkerFromEnv({ ...base, TEMPORAL_ADDRESS: 'temporal.internal.example:7233' })).rejects.toThrow(
    /the Temporal server temporal\.internal\.example:7233 is not on this machine, and no payload encryption key is configured: set OPSFLOW_CODEC_KEY_FILE/,
  );
});

test('with a key, a prebuilt bundle without the failure converter is refused', async () => {
  const bundle = path.join(tempDir('codec-bundle'), 'bundle.js');
  writeFileSync(bundle, '// a workflow bundle built without failureConverterPath\n');
  await expect(
    runWorkerFromEnv({
      ...base,
      TEMPORAL_ADDRESS: 'temporal.internal.example:7233',
      OPSFLOW_CODEC_KEYS: newCodecKeyText('k1'),
      OPSFLOW_WORKFLOW_BUNDLE: bundle,
    }),
  ).rejects.toThrow(/was built without opsflow's failure converter/);
});
