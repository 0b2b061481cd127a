// The stack spec (examples/stack-e.yaml) as `opsflow provision` loads it and as provisionStack checks
// it again: the example loads whole (each site's environment specs inlined, compose files too), and
// each kind of bad stack is refused with every problem named by its field.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SpecError } from '../../src/specs/common';
import { loadStackSpec } from '../../src/specs/load-stack';
import { groupInstances, orderedSites, parseStackSpec, type StackSpec } from '../../src/specs/stack';

const EXAMPLE = path.join(__dirname, '..', '..', 'examples', 'stack-e.yaml');

function problemsOf(change: (spec: Record<string, unknown> & StackSpec) => void): string[] {
  const spec = structuredClone(loadStackSpec(EXAMPLE)) as Record<string, unknown> & StackSpec;
  change(spec);
  try {
    parseStackSpec(spec);
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  return [];
}

test('examples/stack-e.yaml loads whole: two sites, each environment with its compose file inlined, fra1 first', () => {
  const spec = loadStackSpec(EXAMPLE);
  expect(orderedSites(spec)).toEqual(['fra1', 'london']);
  expect(spec.sites.fra1!.app).toMatchObject({ name: 'stack-e-fra1', cloud: 'digitalocean', region: 'fra1' });
  expect(spec.sites.london!.data).toMatchObject({ name: 'stack-e-lon-data', cloud: 'linode', region: 'gb-lon' });
  expect(spec.sites.london!.data.application!.compose).toContain('--log-slave-updates');
  expect(groupInstances(spec.sites.fra1!.data, 'db')).toEqual(['db-1', 'db-2']);
  expect(spec.mysql.port).toBe(3306);
  expect(spec.cloudflare.split).toEqual({ fra1: 50, london: 50 });
});

test('a bad stack is refused with each problem named by its field', () => {
  expect(problemsOf((s) => (s.primarySite = 'ams3'))).toEqual(['primarySite: ams3 is not one of the sites (fra1, london)']);
  expect(problemsOf((s) => (s.cloudflare.split = { fra1: 60, london: 50 }))).toEqual([
    'cloudflare.split: the shares add up to 110, not 100',
  ]);
  expect(problemsOf((s) => (s.cloudflare.split = { fra1: 100 }))).toEqual([
    'cloudflare.split: must give a share for each site (fra1, london), not fra1',
  ]);
  expect(problemsOf((s) => (s.mysql.group = 'mysql'))).toEqual([
    'sites.fra1.data: stack-e-fra1-data has no droplet group mysql (mysql.group); its groups: db',
    'sites.london.data: stack-e-lon-data has no droplet group mysql (mysql.group); its groups: db',
  ]);
  expect(problemsOf((s) => (s.sites.london!.data.droplets[0]!.count = 1))).toEqual([
    'sites.london.data: group db of stack-e-lon-data has 1 server(s); mysql.group needs 2',
    'sites.london.data: group db of stack-e-lon-data has 1 server(s); redis.group needs 2',
  ]);
  expect(problemsOf((s) => (s.sites.london!.app.name = 'stack-e-fra1'))).toEqual([
    "sites.london.app.name: stack-e-fra1 is also sites.fra1.app's name; every environment of a stack needs its own",
  ]);
  expect(problemsOf((s) => delete s.sites.london)).toEqual([
    'sites: a stack has exactly two sites, not 1 (fra1)',
    'cloudflare.split: must give a share for each site (fra1), not fra1, london',
  ]);
  // An environment's own problem keeps its path below the site.
  expect(problemsOf((s) => ((s.sites.fra1!.app as unknown as { region: string }).region = 'mars1'))[0]).toMatch(
    /^sites\.fra1\.app\.region: /,
  );
  // A literal where a secret reference belongs is refused without being echoed.
  const literal = problemsOf((s) => (s.mysql.admin.password = 'hunter2'));
  expect(literal).toEqual([expect.stringMatching(/^mysql\.admin\.password: must be a secret reference: env:VARIABLE or file:/)]);
  expect(literal.join()).not.toContain('hunter2');
});

test("a site's environment file that cannot be read, or lies outside the stack's folder, is named with the site", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-stack-'));
  const file = path.join(dir, 'stack.yaml');
  writeFileSync(file, 'name: s\nprimarySite: a\nsites:\n  a: { app: a.yaml, data: ../outside.yaml }\n');
  expect(() => loadStackSpec(file)).toThrow(SpecError);
  try {
    loadStackSpec(file);
  } catch (err) {
    const problems = (err as SpecError).problems;
    expect(problems[0]).toMatch(/^sites\.a\.app: cannot read .*a\.yaml \(ENOENT\)$/);
    expect(problems[1]).toMatch(/^sites\.a\.data: cannot read .*outside\.yaml|^sites\.a\.data: \.\.\/outside\.yaml is outside /);
  }
});

test('databaseAccess needs a rule for each database port in every data firewall, and operators as CIDRs', () => {
  expect(loadStackSpec(EXAMPLE).databaseAccess).toEqual({ operators: [] });
  expect(
    problemsOf((s) => {
      const data = s.sites.london!.data;
      data.firewall = { inbound: data.firewall!.inbound.filter((r) => r.ports !== '6379') };
    }),
  ).toEqual([
    "sites.london.data.firewall: databaseAccess narrows the database ports, but stack-e-lon-data's firewall has no inbound rule for 6379",
  ]);
  expect(problemsOf((s) => (s.databaseAccess = { operators: ['worker'] }))).toEqual([
    'databaseAccess.operators.0: must be an IPv4 CIDR such as 203.0.113.7/32',
  ]);
});
