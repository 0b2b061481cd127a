// `opsflow dr drill schedule | run` without a server: what is refused before connecting (no
// --input, both --calendar and --cron, an unknown calendar, a cron that is not 5 fields, an input
// for another environment) and the drill input's own checks, each problem named by field: halves
// for another environment, a failback that does not come back the way the failover went, an
// emergency failover, an approval policy while the drill approves itself.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { drillWhen } from '../../src/client/dr-drill';
import { parseDrDrillInput } from '../../src/specs/dr-drill';
import { loadDrDrillInput } from '../../src/specs/load-failover';
import { offlineCli } from '../helpers/offline-cli';
import { twoSites } from '../helpers/site-inputs';
import { tempDir } from '../helpers/temp';

const dir = tempDir('dr-drill-cli-unit');

const good = {
  environment: 'stack-e',
  failover: { ...twoSites, from: 'fra1', to: 'london' },
  failback: { ...twoSites, from: 'london', to: 'fra1' },
};

function inputFile(name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(content, null, 2));
  return file;
}

const run = offlineCli();

test('refused before connecting, each naming the problem', async () => {
  const ok = inputFile('ok.json', good);
  await expect(run('dr', 'drill', 'schedule', 'stack-e')).rejects.toThrow('say what the drill runs: --input <file>');
  await expect(
    run('dr', 'drill', 'schedule', 'stack-e', '--input', ok, '--calendar', 'first-sunday', '--cron', '0 4 * * 0'),
  ).rejects.toThrow('give --calendar or --cron, not both');
  await expect(run('dr', 'drill', 'schedule', 'stack-e', '--input', ok, '--calendar', 'every-day')).rejects.toThrow(
    '--calendar: every-day is not a calendar opsflow knows (first-sunday)',
  );
  await expect(run('dr', 'drill', 'schedule', 'stack-e', '--input', ok, '--cron', '0 4 * *')).rejects.toThrow(
    '--cron: "0 4 * *" is not a 5-field cron expression such as "0 4 * * 0"',
  );
  await expect(run('dr', 'drill', 'schedule', 'stack-f', '--input', ok)).rejects.toThrow(
    `${ok}: environment is stack-e, not stack-f: a drill input is for one environment`,
  );
  await expect(run('dr', 'drill', 'schedule', 'Stack_E', '--input', ok)).rejects.toThrow(/Stack_E/);
  expect(drillWhen({})).toEqual({ calendar: 'first-sunday' });
  expect(drillWhen({ cron: ' 0 4 * * 0 ' })).toEqual({ cron: '0 4 * * 0' });
});

test("the drill input's checks name each field", () => {
  expect(parseDrDrillInput(good)).toMatchObject({ approval: 'drill', failover: { mode: 'planned' } });
  expect(() =>
    parseDrDrillInput({
      ...good,
      failover: { ...good.failover, environment: 'stack-f', mode: 'emergency', approval: { autoApproveAfter: '5m' } },
      failback: { ...good.failback, from: 'fra1', to: 'london' },
    }),
  ).toThrow(
    [
      'invalid drDrill input spec:',
      "  - failover.environment: stack-f is not the drill's environment stack-e",
      '  - failback: goes fra1 -> london, not back the way the failover came (london -> fra1)',
      '  - failover.mode: a drill is a planned switchover (leave mode out or say planned)',
      '  - failover.approval: the drill approves each half itself (approval: drill); give a policy only with approval: human',
    ].join('\n'),
  );
  expect(() => parseDrDrillInput({ ...good, approval: 'robot', failback: { ...good.failback, databases: {} } })).toThrow(
    /approval: .*drill.*human/,
  );
  expect(() =>
    parseDrDrillInput({ ...good, failback: { ...good.failback, databases: { london: good.failback.databases.london } } }),
  ).toThrow('failback.databases: no database server for site fra1');
});

test('examples/dr-drill-stack-e.yaml is a drill input', () => {
  const drill = loadDrDrillInput(path.join(__dirname, '..', '..', 'examples', 'dr-drill-stack-e.yaml'));
  expect(drill).toMatchObject({ environment: 'stack-e', approval: 'drill', failover: { from: 'fra1', to: 'london', mode: 'planned' } });
  expect(drill.failback).toMatchObject({ from: 'london', to: 'fra1', traffic: { mode: 'gradual' } });
});
