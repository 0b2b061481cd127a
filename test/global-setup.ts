// Runs once per jest run: finds (or builds) the pinned Temporal CLI and bundles the workflow code
// once, so every test worker reuses both instead of paying for them per test.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { resolveTemporalCli } from '../src/devstack/temporal-cli';
import { PROJECT_ROOT } from '../src/paths';

export default async function globalSetup(): Promise<void> {
  process.env.OPSFLOW_TEMPORAL_CLI = await resolveTemporalCli();
  // Names this run's temp-folder manifest (test/helpers/temp.ts); workers inherit it.
  process.env.OPSFLOW_TEST_RUN = `${process.pid}-${Date.now()}`;
  const dir = path.join(PROJECT_ROOT, '.opsflow', 'test');
  mkdirSync(dir, { recursive: true });
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./fixtures/workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  // Test workers are spawned after this and inherit the environment.
  process.env.OPSFLOW_TEST_WORKFLOW_BUNDLE = bundlePath;
}
