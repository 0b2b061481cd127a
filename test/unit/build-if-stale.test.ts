// `npm start` runs scripts/build-if-stale.sh: no second tsc right after `npm ci` built, a build
// whenever a source is newer than the built CLI. Run on a copy of the script in a scratch checkout
// whose `build` only leaves a mark; file times are set explicitly, never waited for.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/paths';
import { tempDir } from '../helpers/temp';

function scratchCheckout(): string {
  const root = tempDir('build-stale');
  mkdirSync(path.join(root, 'scripts'));
  copyFileSync(path.join(PROJECT_ROOT, 'scripts', 'build-if-stale.sh'), path.join(root, 'scripts', 'build-if-stale.sh'));
  writeFileSync(
    path.join(root, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, scripts: { build: 'echo built > built.mark' } }),
  );
  for (const dir of ['src', 'dist/client', 'packages/cloud/src']) mkdirSync(path.join(root, dir), { recursive: true });
  writeFileSync(path.join(root, 'src', 'cli.ts'), '');
  writeFileSync(path.join(root, 'packages', 'cloud', 'src', 'index.ts'), '');
  return root;
}

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);

/** Sets every path's modification time (directories too: adding a file changes theirs). */
function age(root: string, paths: string[], seconds: number) {
  for (const p of paths) utimesSync(path.join(root, p), at(seconds), at(seconds));
}

function run(root: string) {
  const result = spawnSync('bash', [path.join(root, 'scripts', 'build-if-stale.sh')], { encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr, built: existsSync(path.join(root, 'built.mark')) };
}

const SOURCES = ['src', 'src/cli.ts', 'packages/cloud/src', 'packages/cloud/src/index.ts', 'package.json'];

test('no build when dist/ is newer than every source (as right after npm ci)', () => {
  const root = scratchCheckout();
  age(root, SOURCES, 0);
  writeFileSync(path.join(root, 'dist', 'client', 'cli.js'), '');
  age(root, ['dist/client/cli.js'], 60);
  expect(run(root)).toEqual({ status: 0, stderr: 'opsflow: dist/ is up to date with the sources; not building again.\n', built: false });
});

test('a build when a source (of the product or a workspace package) is newer, or nothing was built', () => {
  const root = scratchCheckout();
  age(root, SOURCES, 0);
  writeFileSync(path.join(root, 'dist', 'client', 'cli.js'), '');
  age(root, ['dist/client/cli.js'], 60);
  age(root, ['packages/cloud/src/index.ts'], 120);
  const changed = run(root);
  expect(changed.stderr).toContain('opsflow: packages/cloud/src/index.ts changed since the last build; building');
  expect(changed).toMatchObject({ status: 0, built: true });

  const fresh = scratchCheckout();
  expect(run(fresh)).toMatchObject({ status: 0, stderr: expect.stringContaining('opsflow: no build yet; building'), built: true });
});
