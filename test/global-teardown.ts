// Runs once after every test file: removes the temporary folders the tests made.
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { TEMP_MANIFEST } from './helpers/temp';

export default function globalTeardown(): void {
  let dirs: string[] = [];
  try {
    dirs = readFileSync(TEMP_MANIFEST, 'utf8').split('\n').filter(Boolean);
  } catch {
    return;
  }
  for (const dir of dirs) if (dir.startsWith(os.tmpdir())) rmSync(dir, { recursive: true, force: true });
  rmSync(TEMP_MANIFEST, { force: true });
}
