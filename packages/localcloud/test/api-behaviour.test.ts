// The local cloud behaves as the real API does under stress: the account rate limit and 429s,
// seeded error rates, a dark region, failing actions, and state that survives a restart.
import { LocalCloud } from '../src';
import { startLocalCloud, waitForAction } from '../../../test/helpers/localcloud';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function control(cloud: LocalCloud, method: string, path: string, body?: unknown): Promise<Body> {
  const response = await fetch(`${cloud.apiUrl}/_localcloud/${path}`, {
    method,
    headers: { ...cloud.controlHeaders, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, ...((await response.json()) as Body) };
}

test('a 429 storm: the budget runs out, headers count down, and the reset time is honest', async () => {
  const { cloud, api } = await startLocalCloud({ rateLimit: { perMinute: 10, perHour: 1000 } });
  try {
    const remaining: number[] = [];
    // The window opens with the first request: its reset is bounded by the clock around that
    // request, whatever the machine's load makes of the time between requests.
    const firstSent = Date.now();
    let firstAnswered = 0;
    for (let i = 0; i < 10; i++) {
      const r = await api.call('GET', '/v2/account');
      expect(r.status).toBe(200);
      remaining.push(Number(r.headers.get('ratelimit-remaining')));
      firstAnswered ||= Date.now();
    }
    expect(remaining).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const limitedSent = Date.now();
    const limited = await api.call<Body>('GET', '/v2/account');
    const limitedAnswered = Date.now();
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ id: 'too_many_requests', message: 'API Rate limit exceeded.' });
    const reset = Number(limited.headers.get('ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(Math.ceil((firstSent + 60_000) / 1000));
    expect(reset).toBeLessThanOrEqual(Math.ceil((firstAnswered + 60_000) / 1000));
    // Retry-After counts from the refusal to that reset.
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(reset - Math.floor(limitedAnswered / 1000));
    expect(retryAfter).toBeLessThanOrEqual(reset - Math.floor(limitedSent / 1000));
    // Control endpoints are not counted, so a test can always inspect and reset.
    expect((await control(cloud, 'GET', 'inventory')).status).toBe(200);
    expect(api.violations).toEqual([]);
  } finally {
    await cloud.stop();
  }
});

test('seeded error rates: the same seed gives the same failures, in the real error shape', async () => {
  const { cloud, api } = await startLocalCloud();
  try {
    const run = async () => {
      await control(cloud, 'PUT', 'faults', { seed: 42, rules: [{ path: '/v2/sizes', errorRate: 0.3, statuses: [500, 503] }] });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await api.call('GET', '/v2/sizes')).status);
      return statuses;
    };
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
    expect(first.filter((s) => s === 500 || s === 503).length).toBeGreaterThanOrEqual(3);
    expect(first.filter((s) => s === 200).length).toBeGreaterThanOrEqual(12);
    expect((await api.call('GET', '/v2/regions')).status).toBe(200); // other paths unaffected
    expect((await control(cloud, 'PUT', 'faults', { rules: [{ path: 'no-slash' }] })).status).toBe(422);
    expect(api.violations).toEqual([]);
  } finally {
    await cloud.stop();
  }
});

test('a dark region: its resources and new work there fail, other regions carry on', async () => {
  const { cloud, api } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } });
  try {
    const fra = (
      await api.call<Body>('POST', '/v2/droplets', { name: 'fra-app', region: 'fra1', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' })
    ).body.droplet;
    await control(cloud, 'PUT', 'faults', { darkRegions: ['fra1'] });
    expect((await api.call('GET', `/v2/droplets/${fra.id}`)).status).toBe(503);
    expect(
      (await api.call('POST', '/v2/droplets', { name: 'fra-2', region: 'fra1', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' })).status,
    ).toBe(503);
    expect(
      (await api.call('POST', '/v2/droplets', { name: 'lon-app', region: 'lon1', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' })).status,
    ).toBe(202);
    await control(cloud, 'PUT', 'faults', {});
    expect((await api.call('GET', `/v2/droplets/${fra.id}`)).status).toBe(200);
    expect(api.violations).toEqual([]);
  } finally {
    await cloud.stop();
  }
});

test('the next N actions of a type fail, then actions succeed again', async () => {
  const { cloud, api } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } });
  try {
    await control(cloud, 'PUT', 'faults', { failNextActions: { attach_volume: 1 } });
    const droplet = (
      await api.call<Body>('POST', '/v2/droplets', { name: 'db', region: 'fra1', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' })
    ).body;
    await waitForAction(api, droplet.links.actions[0].id);
    const volume = (await api.call<Body>('POST', '/v2/volumes', { name: 'data', region: 'fra1', size_gigabytes: 10 })).body.volume;
    const attach = (id: number) =>
      api.call<Body>('POST', `/v2/volumes/${volume.id}/actions`, { type: 'attach', droplet_id: id, region: 'fra1' });
    const first = await attach(droplet.droplet.id);
    expect(await waitForAction(api, first.body.action.id)).toBe('errored');
    expect((await api.call<Body>('GET', `/v2/volumes/${volume.id}`)).body.volume.droplet_ids).toEqual([]);
    expect((await api.call<Body>('GET', `/v2/droplets/${droplet.droplet.id}`)).body.droplet.locked).toBe(false);
    const second = await attach(droplet.droplet.id);
    expect(await waitForAction(api, second.body.action.id)).toBe('completed');
    expect(api.violations).toEqual([]);
  } finally {
    await cloud.stop();
  }
});

test('an action held by a fault stays in progress, holding its lock, until the hold is lifted', async () => {
  const { cloud, api } = await startLocalCloud({ sshHosts: false, rateLimit: { perMinute: 100_000, perHour: 100_000 } });
  try {
    const created = (
      await api.call<Body>('POST', '/v2/droplets', {
        names: ['held', 'witness'],
        region: 'fra1',
        size: 's-1vcpu-1gb',
        image: 'ubuntu-22-04-x64',
      })
    ).body;
    await Promise.all(created.links.actions.map((a: Body) => waitForAction(api, a.id)));
    const [held, witness] = created.droplets.map((d: Body) => d.id);
    await control(cloud, 'PUT', 'faults', { holdActions: ['power_off'] });
    const off = (await api.call<Body>('POST', `/v2/droplets/${held}/actions`, { type: 'power_off' })).body.action;
    // An action as long, started after it and not held: once it has completed, the power-off is
    // past its due time too (timers of one duration fire in order), so only the hold keeps it open.
    const rename = (await api.call<Body>('POST', `/v2/droplets/${witness}/actions`, { type: 'rename', name: 'witness-2' })).body.action;
    expect(await waitForAction(api, rename.id)).toBe('completed');
    expect((await api.call<Body>('GET', `/v2/actions/${off.id}`)).body.action.status).toBe('in-progress');
    expect((await api.call<Body>('GET', `/v2/droplets/${held}`)).body.droplet).toMatchObject({ locked: true, status: 'active' });
    expect((await control(cloud, 'GET', 'inventory')).pending_actions).toBe(1);
    // Setting other faults keeps it held; setting faults without the hold lets it finish at once.
    await control(cloud, 'PUT', 'faults', { holdActions: ['power_off', 'reboot'], darkRegions: [] });
    expect((await api.call<Body>('GET', `/v2/actions/${off.id}`)).body.action.status).toBe('in-progress');
    await control(cloud, 'PUT', 'faults', {});
    expect((await api.call<Body>('GET', `/v2/actions/${off.id}`)).body.action.status).toBe('completed');
    expect((await api.call<Body>('GET', `/v2/droplets/${held}`)).body.droplet).toMatchObject({ locked: false, status: 'off' });
    expect((await control(cloud, 'PUT', 'faults', { holdActions: [''] })).status).toBe(422);
    expect(api.violations).toEqual([]);
  } finally {
    await cloud.stop();
  }
});

test('state survives a restart, unfinished actions finish, and a reset empties everything', async () => {
  const first = await startLocalCloud();
  // The create is held open across the restart (faults are not kept, so the hold ends with it).
  await control(first.cloud, 'PUT', 'faults', { holdActions: ['create'] });
  const created = (
    await first.api.call<Body>('POST', '/v2/droplets', {
      name: 'survivor',
      region: 'tor1',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-22-04-x64',
      tags: ['keep'],
    })
  ).body;
  await first.api.call('POST', '/v2/volumes', { name: 'kept', region: 'tor1', size_gigabytes: 5 });
  expect((await first.api.call<Body>('GET', `/v2/actions/${created.links.actions[0].id}`)).body.action.status).toBe('in-progress');
  await first.cloud.stop();

  const second = await startLocalCloud({ stateDir: first.stateDir });
  try {
    expect(second.cloud.token).toBe(first.cloud.token);
    const droplet = (await second.api.call<Body>('GET', `/v2/droplets/${created.droplet.id}`)).body.droplet;
    expect(droplet.name).toBe('survivor');
    expect(await waitForAction(second.api, created.links.actions[0].id)).toBe('completed');
    expect((await second.api.call<Body>('GET', `/v2/droplets/${created.droplet.id}`)).body.droplet.status).toBe('active');
    const inventory = await control(second.cloud, 'GET', 'inventory');
    expect(inventory.droplets.map((d: Body) => d.name)).toEqual(['survivor']);
    expect(inventory.volumes.map((v: Body) => v.name)).toEqual(['kept']);
    const emptied = await control(second.cloud, 'POST', 'reset');
    expect([emptied.droplets, emptied.volumes, emptied.pending_actions]).toEqual([[], [], 0]);
    expect((await second.api.call<Body>('GET', '/v2/droplets')).body.meta.total).toBe(0);
  } finally {
    await second.cloud.stop();
  }
});
