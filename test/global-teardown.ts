// Runs once after every test file: removes the temporary folders the tests made.
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { tempManifest } from './helpers/temp';

export default function globalTeardown(): void {
  const manifest = tempManifest();
  let dirs: string[] = [];
  try {
    dirs = readFileSync(manifest, 'utf8').split('\n').filter(Boolean);
  } catch {
    return;
  }
  for (const dir of dirs) if (dir.startsWith(os.tmpdir())) rmSync(dir, { recursive: true, force: true });
  rmSync(manifest, { force: true });
}
