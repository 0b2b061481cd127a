// What jest's global setup gives the test helpers a benchmark shares with the tests: the pinned
// Temporal CLI (test/helpers/temporal.ts starts the dev server with it) and the workflow bundle
// their in-process workers load (every production workflow plus the test fixtures); and, as its
// global teardown, the removal of the temporary folders the helpers made.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { resolveTemporalCli } from '../src/devstack/temporal-cli';
import { PROJECT_ROOT } from '../src/paths';
import globalTeardown from '../test/global-teardown';

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export async function provideTestSetup(): Promise<void> {
  // The helpers list their temporary folders under this run's name (test/helpers/temp.ts).
  process.env.OPSFLOW_TEST_RUN ??= `bench-${process.pid}`;
  process.env.OPSFLOW_TEMPORAL_CLI = await resolveTemporalCli();
  const dir = path.join(PROJECT_ROOT, '.opsflow', 'bench');
  mkdirSync(dir, { recursive: true });
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../test/fixtures/workflows'), logger: quiet });
  process.env.OPSFLOW_TEST_WORKFLOW_BUNDLE = path.join(dir, 'workflow-bundle.js');
  writeFileSync(process.env.OPSFLOW_TEST_WORKFLOW_BUNDLE, code);
}

/** Removes the temporary folders this run's helpers made (MariaDB data, local cloud state); call once its servers stopped. */
export const removeTestFolders = globalTeardown;
