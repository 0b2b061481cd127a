// A worker whose Temporal does not answer says which address it tried, where that came from, and
// how to change it, instead of the SDK's bare "Failed to connect before the deadline".
import { runWorkerFromEnv } from '../../src/worker';
import { freePort } from '../helpers/processes';
import { tempDir } from '../helpers/temp';

test('the worker names the address it could not reach', async () => {
  // A port nothing listens on: freePort closed it again.
  const address = `127.0.0.1:${await freePort()}`;
  await expect(
    runWorkerFromEnv({
      OPSFLOW_METRICS_ADDRESS: 'off',
      OPSFLOW_LOG_LEVEL: 'ERROR',
      OPSFLOW_STATE_DIR: tempDir('worker-unreachable'),
      TEMPORAL_ADDRESS: address,
    }),
  ).rejects.toThrow(`cannot reach Temporal at ${address} (address from TEMPORAL_ADDRESS): `);
});
