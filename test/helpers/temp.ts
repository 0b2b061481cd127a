// Temporary folders for tests, removed by test/global-teardown.ts once the whole run ends (jest
// runs a helper's afterAll before the test file's own, which may still need the folder).
import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * One manifest per jest run (global-setup names the run), so one run's teardown never removes
 * the folders of another run going on at the same time.
 */
export function tempManifest(): string {
  return path.join(__dirname, '..', '..', '.opsflow', 'test', `temp-dirs-${process.env.OPSFLOW_TEST_RUN ?? 'adhoc'}.txt`);
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `opsflow-${prefix}-`));
  const manifest = tempManifest();
  mkdirSync(path.dirname(manifest), { recursive: true });
  appendFileSync(manifest, dir + '\n');
  return dir;
}
