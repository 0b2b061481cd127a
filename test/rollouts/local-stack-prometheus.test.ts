// The Prometheus `opsflow up` starts (startLocalStackPrometheus): in the private state folder
// (0700, as ensureStateDir makes it), run unprivileged, its targets kept across a restart of the
// stack, a bad interval refused by name. Real Debian prometheus, queried over its HTTP API.
import { chmodSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { startLocalStackPrometheus, startPrometheus, writeScrapeTargets } from '../../src/devstack/prometheus';
import { tempDir } from '../helpers/temp';

jest.setTimeout(90_000);

test('runs inside a private state folder, unprivileged; a restart keeps its targets', async () => {
  const stateDir = tempDir('stack-state');
  chmodSync(stateDir, 0o700);
  const said: string[] = [];
  const first = await startLocalStackPrometheus(stateDir, (line) => said.push(line));
  try {
    expect(said).toEqual([
      `Prometheus is up at ${first!.address}; it scrapes the targets in ${path.join(stateDir, 'prometheus', 'targets.json')}.`,
    ]);
    const status = readFileSync(`/proc/${first!.process.pid}/status`, 'utf8');
    if (process.getuid?.() === 0) expect(/^Uid:\s+(\d+)/m.exec(status)![1]).toBe('65534');
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    writeScrapeTargets(first!.targetsFile, [{ address: '127.0.0.1:9', labels: { droplet: 'web-1' } }]);
  } finally {
    await first?.stop();
  }
  const second = await startLocalStackPrometheus(stateDir, () => undefined);
  try {
    const response = await fetch(`${second!.address}/api/v1/status/config`);
    expect(((await response.json()) as { data: { yaml: string } }).data.yaml).toContain('targets.json');
    expect(JSON.parse(readFileSync(second!.targetsFile, 'utf8'))).toEqual([{ targets: ['127.0.0.1:9'], labels: { droplet: 'web-1' } }]);
  } finally {
    await second?.stop();
  }
});

test('bad settings are refused by name before anything starts', async () => {
  await expect(startPrometheus({ dir: tempDir('prometheus'), scrapeInterval: 'often' })).rejects.toThrow(
    'scrape interval "often" must be a duration such as 5s',
  );
  expect(() =>
    writeScrapeTargets(path.join(tempDir('prometheus'), 'targets.json'), [{ address: '127.0.0.1:8080', labels: { __x: 'y' } }]),
  ).toThrow('label name "__x" must match');
});
