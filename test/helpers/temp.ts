// Temporary folders for tests, removed by test/global-teardown.ts once the whole run ends (jest
// runs a helper's afterAll before the test file's own, which may still need the folder).
import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEMP_MANIFEST = path.join(__dirname, '..', '..', '.opsflow', 'test', 'temp-dirs.txt');

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `opsflow-${prefix}-`));
  mkdirSync(path.dirname(TEMP_MANIFEST), { recursive: true });
  appendFileSync(TEMP_MANIFEST, dir + '\n');
  return dir;
}
