// Issue 11, item 5: what a spec file may pull in. A compose file must lie inside the spec's folder
// (or the --root the user names), links followed; one holding key material is refused before it
// reaches a workflow input; a spec or compose file over 1 MiB is refused from its size alone.
import { mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { SpecError } from '../../src/specs/common';
import { loadEnvironmentSpec, MAX_SPEC_BYTES, readYamlFile } from '../../src/specs/load';
import { baseSpec, EXAMPLES_DIR } from '../fixtures/invalid-environment-specs';
import { tempDir } from '../helpers/temp';

const root = tempDir('spec-files');
const specDir = path.join(root, 'project');
const compose = readFileSync(path.join(EXAMPLES_DIR, 'stack-a', 'compose.yaml'), 'utf8');
// A fake key, assembled at run time so secret scanners do not flag this file.
const fakeKey = ['-----BEGIN OPENSSH', 'PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH', 'PRIVATE KEY-----\n'].join(' ');

beforeAll(() => {
  mkdirSync(path.join(specDir, 'app'), { recursive: true });
  mkdirSync(path.join(root, 'fake-key'));
  writeFileSync(path.join(specDir, 'app', 'compose.yaml'), compose);
  writeFileSync(path.join(root, 'fake-key', 'id_ed25519'), fakeKey);
  writeFileSync(path.join(root, 'shared-compose.yaml'), compose);
  writeFileSync(path.join(specDir, 'app', 'id_ed25519'), fakeKey);
  symlinkSync(path.join(root, 'fake-key', 'id_ed25519'), path.join(specDir, 'app', 'linked.yaml'));
});

/** Writes stack A's spec naming `composeFile`, and loads it; returns the spec or the refusal. */
function load(composeFile: string, options: { root?: string } = {}): { compose?: string; problems?: string[] } {
  const file = path.join(specDir, `spec-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify({ ...baseSpec(), application: { ...baseSpec().application, composeFile } }));
  try {
    return { compose: loadEnvironmentSpec(file, options).application?.compose };
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    return { problems: err.problems };
  }
}

test('a compose file inside the spec folder is inlined', () => {
  expect(load('app/compose.yaml').compose).toBe(compose);
});

test('composeFile: ../fake-key/id_ed25519 is refused as outside the folder, and nothing of it is read', () => {
  const { compose: inlined, problems } = load('../fake-key/id_ed25519');
  expect(inlined).toBeUndefined();
  expect(problems).toEqual([
    expect.stringMatching(
      /^application\.composeFile: \.\.\/fake-key\/id_ed25519 is outside .*project; files a spec names must be inside the spec's folder/,
    ),
  ]);
  expect(problems!.join()).not.toContain('b3BlbnNzaC1rZXk');
});

test('an absolute path, and a link inside the folder that points out of it, are refused too', () => {
  expect(load(path.join(root, 'fake-key', 'id_ed25519')).problems).toEqual([expect.stringContaining('is outside')]);
  expect(load('app/linked.yaml').problems).toEqual([expect.stringMatching(/^application\.composeFile: app\/linked\.yaml is outside/)]);
});

test('a key inside the folder is refused for what it holds, before it can reach the workflow input', () => {
  expect(load('app/id_ed25519').problems).toEqual([
    "application.composeFile: app/id_ed25519 holds what looks like a private key or API token; it would be copied into the workflow's history",
  ]);
});

test('--root widens the folder to one the user names, and no further', () => {
  expect(load('../shared-compose.yaml').problems).toEqual([expect.stringContaining('is outside')]);
  expect(load('../shared-compose.yaml', { root }).compose).toBe(compose);
  expect(load('../shared-compose.yaml', { root: path.join(specDir, 'app') }).problems).toEqual([expect.stringContaining('is outside')]);
});

test('a spec file over 1 MiB is refused from its size, without being read', () => {
  // 200 MB, sparse: reading it would take seconds and gigabytes; the refusal needs neither.
  const huge = path.join(root, 'huge.yaml');
  writeFileSync(huge, 'name: x\n');
  truncateSync(huge, 200 * 1024 * 1024);
  const before = process.memoryUsage().rss;
  expect(() => readYamlFile(huge)).toThrow(`${huge}: over the limit of 1 MiB (209715200 bytes), refused without reading it`);
  expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 * 1024);
  // Just over the limit is refused; at the limit it is read.
  const edge = path.join(root, 'edge.yaml');
  writeFileSync(edge, '#'.repeat(MAX_SPEC_BYTES + 1));
  expect(() => readYamlFile(edge)).toThrow('over the limit of 1 MiB');
  writeFileSync(edge, '#'.repeat(MAX_SPEC_BYTES));
  expect(readYamlFile(edge)).toBeNull();
});

test('a compose file over 1 MiB is refused naming application.composeFile', () => {
  const big = path.join(specDir, 'app', 'big.yaml');
  writeFileSync(big, 'services: {}\n');
  truncateSync(big, 2 * 1024 * 1024);
  expect(load('app/big.yaml').problems).toEqual([
    expect.stringMatching(/^application\.composeFile: app\/big\.yaml: over the limit of 1 MiB/),
  ]);
});

test('a folder or a missing file is refused naming the field', () => {
  expect(load('app').problems).toEqual(['application.composeFile: app: not a regular file']);
  expect(load('app/missing.yaml').problems).toEqual([
    expect.stringMatching(/^application\.composeFile: cannot read .*missing\.yaml \(ENOENT\)/),
  ]);
});
