// The provider seam: workflows speak only the neutral vocabulary (no DigitalOcean import, provider
// id or device path in src/workflows), and one function routes a spec's `cloud:` to its queue.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { IMPLEMENTED_PROVIDERS, PROVIDER_IDS } from '../../../src/providers/cloud-provider';
import { SpecError } from '../../../src/specs/common';
import { parseEnvironmentSpec } from '../../../src/specs/environment';
import { providerTaskQueue } from '../../../src/temporal/task-queues';

const workflowsDir = path.join(__dirname, '../../../src/workflows');

function sources(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [{ file: path.relative(workflowsDir, full), text: readFileSync(full, 'utf8') }] : [];
  });
}

const importsOf = (text: string) => [...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2]!);

test('no workflow imports anything of DigitalOcean, names it as a provider, or assumes its device paths', () => {
  const files = sources(workflowsDir);
  expect(files.length).toBeGreaterThan(10);
  const offending = files.flatMap(({ file, text }) => [
    ...importsOf(text).filter((spec) => /digitalocean/i.test(spec)).map((spec) => `${file} imports ${spec}`),
    ...(/['"`]digitalocean['"`]/i.test(text) ? [`${file} names the digitalocean provider`] : []),
    ...(/scsi-0DO_Volume/.test(text) ? [`${file} writes DigitalOcean's volume device path`] : []),
  ]);
  expect(offending).toEqual([]);
});

test('the check above would see such an import', () => {
  expect(importsOf("import type { X } from '../../activities/digitalocean/provider';\nimport('../integrations/digitalocean/client')")).toEqual(['../../activities/digitalocean/provider', '../integrations/digitalocean/client']);
});

test('each provider has its own queue, chosen by one function', () => {
  expect(PROVIDER_IDS.map(providerTaskQueue)).toEqual(['opsflow-digitalocean', 'opsflow-linode']);
});

const spec = (cloud?: string) => ({ name: 'stack-a', ...(cloud ? { cloud } : {}), region: 'fra1', droplets: [{ name: 'app', size: 's-1vcpu-1gb' }], ssh: { key: 'deploy' } });

test('a spec names its cloud (digitalocean by default); a provider without activities yet is refused by name', () => {
  expect(parseEnvironmentSpec(spec()).cloud).toBe('digitalocean');
  expect(parseEnvironmentSpec(spec('digitalocean')).cloud).toBe('digitalocean');
  expect(IMPLEMENTED_PROVIDERS).not.toContain('linode');
  let err: unknown;
  try {
    parseEnvironmentSpec(spec('linode'));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SpecError);
  expect((err as Error).message).toMatch(/cloud.*"linode" is not a cloud provider this opsflow runs.*valid: digitalocean/);
});
