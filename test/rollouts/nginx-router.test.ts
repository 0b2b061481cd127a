// Issue 14, item 2 (traffic): weights applied by a REAL nginx (Debian's nginx-light, unprivileged,
// loopback) in front of two tiny upstream servers. nginx's smooth weighted round robin is exact per
// cycle, so the counts are exact, not statistical. Reloads are awaited by watching nginx's own
// workers change (a state), never by sleeping.
import { readFileSync, writeFileSync } from 'node:fs';
import { LocalConfigHost, type ConfigHost } from '../../src/rollouts/traffic/config-host';
import { renderUpstream } from '../../src/rollouts/traffic/nginx-config';
import { NginxConfigRefusedError, NginxReloadNotConfirmedError, NginxRouter } from '../../src/rollouts/traffic/nginx-router';
import type { Weights } from '../../src/rollouts/traffic/router';
import { load, sequential, startNamedServer, type NamedServer } from './helpers/http-load';
import { NGINX, reloadDone, startNginx, type NginxInstance } from './helpers/nginx-instance';

jest.setTimeout(90_000);

let stable: NamedServer;
let canary: NamedServer;
let nginx: NginxInstance;
let router: NginxRouter;
let layout: { upstream: string; stable: string[]; canary: string[] };

/**
 * Applies weights: the router itself returns once a new worker runs (confirmReload); for exact
 * counts the test also waits until the old workers are gone.
 */
async function setWeights(weights: Weights): Promise<void> {
  const before = nginx.workers();
  await router.setWeights(weights);
  expect(nginx.workers().some((pid) => !before.includes(pid))).toBe(true);
  await reloadDone(nginx, before);
}

beforeAll(async () => {
  stable = await startNamedServer('stable');
  canary = await startNamedServer('canary');
  layout = { upstream: 'app', stable: [stable.address], canary: [canary.address] };
  nginx = await startNginx('app', renderUpstream(layout, { stable: 100, canary: 0 }));
  router = new NginxRouter({
    host: new LocalConfigHost(),
    layout,
    upstreamFile: nginx.upstreamFile,
    nginx: NGINX,
    instanceArgs: nginx.instanceArgs,
    confirmReload: { pidFile: `${nginx.dir}/nginx.pid` },
  });
});

afterAll(async () => {
  await nginx?.stop();
  await stable?.close();
  await canary?.close();
});

test('100:0 sends everything to stable', async () => {
  expect(await router.currentWeights()).toEqual({ stable: 100, canary: 0 });
  expect(await sequential(nginx.port, 50)).toEqual({ byBody: { stable: 50 }, failures: [], done: 50, stoppedBy: 'count' });
});

test('at 9:1, exactly 180 of 200 requests reach stable and 20 the canary; a reweight by reload changes it', async () => {
  await setWeights({ stable: 90, canary: 10 });
  expect(await router.currentWeights()).toEqual({ stable: 90, canary: 10 });
  expect(readFileSync(nginx.upstreamFile, 'utf8')).toContain(`server ${stable.address} weight=9;`);
  expect((await sequential(nginx.port, 200)).byBody).toEqual({ stable: 180, canary: 20 });

  await setWeights({ stable: 75, canary: 25 });
  expect((await sequential(nginx.port, 200)).byBody).toEqual({ stable: 150, canary: 50 });
  // The split before the last change is kept beside the file.
  expect(readFileSync(`${nginx.upstreamFile}.previous`, 'utf8')).toBe(renderUpstream(layout, { stable: 90, canary: 10 }));
});

test('setting the split already in place keeps the previous file and adds no journal line (a retried activity undoes nothing)', async () => {
  const previous = readFileSync(`${nginx.upstreamFile}.previous`, 'utf8');
  const journal = await router.applied();
  await setWeights({ stable: 75, canary: 25 });
  expect(readFileSync(`${nginx.upstreamFile}.previous`, 'utf8')).toBe(previous);
  expect(await router.applied()).toEqual(journal);
  // Each split put in place is one journal line, in order.
  expect(journal.map((e) => e.weights)).toEqual([
    { stable: 90, canary: 10 },
    { stable: 75, canary: 25 },
  ]);
  expect(journal[0]!.servers).toBe(`${stable.address} weight=9, ${canary.address} weight=1`);
});

test('a retry after a crash between writing the file and journalling it adds the missing line once', async () => {
  const journal = readFileSync(router.journalFile, 'utf8');
  writeFileSync(router.journalFile, journal.split('\n').filter(Boolean).slice(0, -1).join('\n') + '\n');
  await setWeights({ stable: 75, canary: 25 });
  await setWeights({ stable: 75, canary: 25 });
  expect((await router.applied()).map((e) => e.weights)).toEqual([
    { stable: 90, canary: 10 },
    { stable: 75, canary: 25 },
  ]);
});

test('rollback puts the previous split back', async () => {
  const before = nginx.workers();
  expect(await router.rollback()).toEqual({ stable: 90, canary: 10 });
  await reloadDone(nginx, before);
  expect((await sequential(nginx.port, 100)).byBody).toEqual({ stable: 90, canary: 10 });
});

test('a configuration nginx -t refuses is taken back; the old split keeps serving', async () => {
  const inPlace = readFileSync(nginx.upstreamFile, 'utf8');
  const previous = readFileSync(`${nginx.upstreamFile}.previous`, 'utf8');
  const workers = nginx.workers();
  const journal = await router.applied();
  const broken = new NginxRouter({
    host: new LocalConfigHost(),
    layout: { ...layout, canary: ['canary.invalid:8080'] },
    upstreamFile: nginx.upstreamFile,
    nginx: NGINX,
    instanceArgs: nginx.instanceArgs,
  });
  const refused = broken.setWeights({ stable: 50, canary: 50 });
  // (the note of the split being replaced is cleared again: a later retry saves nothing from it)
  await expect(refused).rejects.toBeInstanceOf(NginxConfigRefusedError);
  await expect(refused).rejects.toThrow(
    /nginx -t refused the new upstream file, so the previous one was put back and keeps serving: .*host not found in upstream "canary\.invalid:8080"/,
  );
  expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(inPlace);
  expect(readFileSync(`${nginx.upstreamFile}.previous`, 'utf8')).toBe(previous);
  expect(nginx.workers()).toEqual(workers); // never reloaded
  expect(await router.applied()).toEqual(journal); // nothing was put in place
  expect(await sequential(nginx.port, 100)).toEqual({ byBody: { stable: 90, canary: 10 }, failures: [], done: 100, stoppedBy: 'count' });
});

test('a reload that cannot be confirmed is an error, raised before nginx is signalled', async () => {
  const workers = nginx.workers();
  const blind = new NginxRouter({
    host: new LocalConfigHost(),
    layout,
    upstreamFile: nginx.upstreamFile,
    nginx: NGINX,
    instanceArgs: nginx.instanceArgs,
    confirmReload: { pidFile: `${nginx.dir}/no-such.pid` },
  });
  await expect(blind.setWeights({ stable: 90, canary: 10 })).rejects.toThrow(NginxReloadNotConfirmedError);
  expect(nginx.workers()).toEqual(workers);
});

test('no request fails while the split changes four times under load (8 requests at a time, at most 6000)', async () => {
  // Each switch starts once 150 requests have answered since the previous one finished, and the
  // load stops 150 requests after the last: every switch happens with requests in flight.
  const plan: Weights[] = [
    { stable: 50, canary: 50 },
    { stable: 0, canary: 100 },
    { stable: 100, canary: 0 },
    { stable: 90, canary: 10 },
  ];
  const switches: { startedAt: number; finishedAt: number }[] = [];
  let nextAt = 150;
  let switching: Promise<void> | undefined;
  let done = 0;
  const tally = await load(
    nginx.port,
    6000,
    8,
    (n) => {
      done = n;
      if (switching || switches.length === plan.length || n < nextAt) return;
      const startedAt = n;
      switching = setWeights(plan[switches.length]!).then(() => {
        switches.push({ startedAt, finishedAt: done });
        nextAt = done + 150;
        switching = undefined;
      });
    },
    () => switches.length === plan.length && done >= nextAt,
  );
  await switching;
  expect(switches).toHaveLength(4);
  expect(tally.failures).toEqual([]);
  expect(tally.byBody.stable! + tally.byBody.canary!).toBe(tally.done);
  expect(tally.done).toBeLessThan(6000);
  expect(tally.stoppedBy).toBe('enough');
  // Requests were answered while each switch was under way.
  for (const s of switches) expect(s.finishedAt).toBeGreaterThan(s.startedAt);
  expect(await router.currentWeights()).toEqual({ stable: 90, canary: 10 });
});

test('a worker killed after the install but before saving .previous: the retry saves it, so a rollback goes back one split', async () => {
  await setWeights({ stable: 80, canary: 20 });
  await setWeights({ stable: 90, canary: 10 });
  // The first attempt dies where it would write .previous, as a SIGKILL there would leave it.
  const local = new LocalConfigHost();
  let dies = true;
  const dying: ConfigHost = {
    read: (path) => local.read(path),
    run: (program, args) => local.run(program, args),
    write: async (path, text) => {
      if (dies && path === `${nginx.upstreamFile}.previous`) {
        dies = false;
        throw new Error('worker killed');
      }
      return local.write(path, text);
    },
  };
  const killed = new NginxRouter({
    host: dying,
    layout,
    upstreamFile: nginx.upstreamFile,
    nginx: NGINX,
    instanceArgs: nginx.instanceArgs,
    confirmReload: { pidFile: `${nginx.dir}/nginx.pid` },
  });
  await expect(killed.setWeights({ stable: 50, canary: 50 })).rejects.toThrow('worker killed');
  expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(renderUpstream(layout, { stable: 50, canary: 50 }));
  expect(readFileSync(`${nginx.upstreamFile}.previous`, 'utf8')).toBe(renderUpstream(layout, { stable: 80, canary: 20 }));
  // The retry (a new worker) finds its split in place and saves the .previous the first attempt did not.
  await setWeights({ stable: 50, canary: 50 });
  expect(readFileSync(`${nginx.upstreamFile}.previous`, 'utf8')).toBe(renderUpstream(layout, { stable: 90, canary: 10 }));
  const before = nginx.workers();
  expect(await router.rollback()).toEqual({ stable: 90, canary: 10 });
  await reloadDone(nginx, before);
  expect((await sequential(nginx.port, 100)).byBody).toEqual({ stable: 90, canary: 10 });
});
