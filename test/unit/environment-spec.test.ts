// The environment spec: the three examples parse, and bad specs are refused before anything is
// created, each with a message that names the field.
import path from 'node:path';
import { SpecError } from '../../src/specs/common';
import { dropletInstances, environmentJsonSchema, parseEnvironmentSpec } from '../../src/specs/environment';
import { loadEnvironmentSpec } from '../../src/specs/load';
import { baseSpec as base, EXAMPLES_DIR as examples, invalidEnvironmentSpecs, type Spec } from '../fixtures/invalid-environment-specs';

test.each(['stack-a', 'stack-b', 'stack-c'])('%s parses, with its compose file inlined', (name) => {
  const spec = loadEnvironmentSpec(path.join(examples, `${name}.yaml`));
  expect(spec.name).toBe(name);
  expect(spec.application?.compose).toContain('services:');
});

test('defaults fill in, and instances are named from count', () => {
  const spec = parseEnvironmentSpec({
    ...base(),
    droplets: [
      { name: 'app', size: 's-1vcpu-1gb' },
      { name: 'worker', size: 's-1vcpu-1gb', count: 2 },
    ],
  });
  expect(spec.onFailure).toBe('rollback');
  expect(spec.droplets[0]?.image).toBe('ubuntu-22-04-x64');
  expect(dropletInstances(spec).map((i) => i.instance)).toEqual(['app', 'worker-1', 'worker-2']);
  expect(spec.firewall?.inbound[0]?.sources).toEqual(['0.0.0.0/0', '::/0']);
});

test.each(invalidEnvironmentSpecs)('refused: %s', (_what, breakIt, expected) => {
  const spec = base();
  breakIt(spec);
  let error: unknown;
  try {
    parseEnvironmentSpec(spec);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(SpecError);
  expect((error as SpecError).problems.join('\n')).toContain(expected);
});

test('at least 30 kinds of bad spec are covered', () => {
  expect(invalidEnvironmentSpecs.length).toBeGreaterThanOrEqual(30);
});

test('every problem in a spec is reported at once', () => {
  const spec = base();
  spec.region = 'mars1';
  spec.droplets[0].size = 'huge';
  const err = (() => {
    try {
      parseEnvironmentSpec(spec);
    } catch (e) {
      return e as SpecError;
    }
  })();
  expect(err?.problems).toEqual(expect.arrayContaining([expect.stringContaining('region:'), expect.stringContaining('droplets.0.size:')]));
});

test('the JSON Schema describes the spec for editors', () => {
  const schema = environmentJsonSchema() as { properties: Record<string, unknown>; required: string[] };
  expect(Object.keys(schema.properties)).toEqual(
    expect.arrayContaining([
      'name',
      'region',
      'vpc',
      'firewall',
      'droplets',
      'volumes',
      'reservedIp',
      'ssh',
      'bootstrap',
      'application',
      'healthChecks',
      'onFailure',
    ]),
  );
  expect(schema.required).toEqual(expect.arrayContaining(['name', 'region', 'droplets', 'ssh']));
});

test('wrong types anywhere give a SpecError, never a crash', () => {
  const paths: string[][] = [
    ['name'],
    ['region'],
    ['vpc'],
    ['vpc', 'ipRange'],
    ['firewall'],
    ['firewall', 'inbound'],
    ['droplets'],
    ['volumes'],
    ['volumes', '0'],
    ['reservedIp'],
    ['ssh'],
    ['ssh', 'hostKeys'],
    ['bootstrap'],
    ['bootstrap', 'files'],
    ['application'],
    ['application', 'environment'],
    ['healthChecks'],
    ['healthChecks', '0'],
  ];
  for (const at of paths) {
    for (const junk of [null, 42, 'x', [], {}, true]) {
      const spec = base();
      let holder: Spec = spec;
      for (const key of at.slice(0, -1)) holder = holder[key];
      holder[at.at(-1) as string] = junk;
      try {
        parseEnvironmentSpec(spec);
      } catch (err) {
        expect({ at: at.join('.'), junk, error: (err as Error).name }).toEqual({ at: at.join('.'), junk, error: 'SpecError' });
      }
    }
  }
});
