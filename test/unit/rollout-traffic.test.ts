// Issue 14, item 2 (traffic), the pure parts: the nginx upstream text for a split, and membership
// weighting for a load balancer without weights, with what the status must say.
import { renderUpstream, weightsInUpstream } from '../../src/rollouts/traffic/nginx-config';
import { membersForWeight } from '../../src/rollouts/traffic/membership';
import { TrafficWeightsError } from '../../src/rollouts/traffic/router';
import { checkLoadTarget, generateLoad } from '../../src/rollouts/load-generator';

const layout = { upstream: 'app', stable: ['10.0.0.1:3001', '10.0.0.2:3001'], canary: ['10.0.0.9:3001'] };

describe('renderUpstream', () => {
  test('each side shares its weight evenly; the ratio is the smallest whole one', () => {
    // 90:10 over 2 stable and 1 canary: 45 per stable server, 10 per canary -> 9:2.
    const text = renderUpstream(layout, { stable: 90, canary: 10 });
    expect(text).toContain(
      'upstream app {\n    server 10.0.0.1:3001 weight=9;\n    server 10.0.0.2:3001 weight=9;\n    server 10.0.0.9:3001 weight=2;\n}',
    );
    expect(weightsInUpstream(text)).toEqual({ stable: 90, canary: 10 });
  });

  test('a side at 0 is listed down, so the file still shows the whole fleet', () => {
    const text = renderUpstream(layout, { stable: 100, canary: 0 });
    expect(text).toContain('    server 10.0.0.9:3001 down;');
    expect(text).toContain('    server 10.0.0.1:3001 weight=1;');
  });

  test('the same input gives the same text (a retry rewrites nothing)', () => {
    expect(renderUpstream(layout, { stable: 75, canary: 25 })).toBe(renderUpstream({ ...layout }, { stable: 75, canary: 25 }));
  });

  test.each<[object, object, RegExp]>([
    [layout, { stable: 90, canary: 20 }, /weights must add up to 100, got stable 90 \+ canary 20 = 110/],
    [layout, { stable: 90.5, canary: 9.5 }, /the stable weight must be a whole percent/],
    [{ ...layout, upstream: 'app;evil' }, { stable: 100, canary: 0 }, /upstream name "app;evil"/],
    [
      { ...layout, canary: ['10.0.0.9:3001; include /etc/passwd'] },
      { stable: 100, canary: 0 },
      /server "10\.0\.0\.9:3001; include \/etc\/passwd" must be host:port/,
    ],
    [{ ...layout, canary: ['10.0.0.9:70000'] }, { stable: 100, canary: 0 }, /must be host:port/],
    [{ ...layout, canary: ['10.0.0.1:3001'] }, { stable: 100, canary: 0 }, /server 10\.0\.0\.1:3001 is listed twice/],
    [{ ...layout, canary: [] }, { stable: 90, canary: 10 }, /canary weight 10 but no canary server/],
  ])('refuses %j with %j', (bad, weights, message) => {
    expect(() => renderUpstream(bad as typeof layout, weights as never)).toThrow(TrafficWeightsError);
    expect(() => renderUpstream(bad as typeof layout, weights as never)).toThrow(message);
  });

  test('a file not written by opsflow has no recorded weights', () => {
    expect(weightsInUpstream('upstream app { server 1.2.3.4:80; }')).toBeUndefined();
  });
});

describe('membersForWeight (a load balancer without weights)', () => {
  const stable = ['app-1', 'app-2', 'app-3'];
  const canary = ['app-1-canary', 'app-2-canary', 'app-3-canary'];

  test('an exact share when the hosts allow it, said as such', () => {
    expect(membersForWeight(stable, canary, { stable: 50, canary: 50 })).toEqual({
      stable: ['app-1', 'app-2', 'app-3'],
      canary: ['app-1-canary', 'app-2-canary', 'app-3-canary'],
      effective: { stable: 50, canary: 50 },
      status: 'weight 50% asked; the load balancer has no weights, so 3 of 6 members run the canary (50%)',
    });
    expect(membersForWeight(stable, canary, { stable: 75, canary: 25 })).toMatchObject({
      stable: stable,
      canary: ['app-1-canary'],
      effective: { stable: 75, canary: 25 },
    });
  });

  test('the closest share otherwise, and the status says the weight really given', () => {
    const plan = membersForWeight(stable, canary.slice(0, 1), { stable: 90, canary: 10 });
    expect(plan).toMatchObject({ stable, canary: ['app-1-canary'], effective: { stable: 75, canary: 25 } });
    expect(plan.status).toBe(
      'weight 10% asked; the load balancer has no weights, so 1 of 4 members run the canary (about 25%, the closest 3 stable and 1 canary hosts allow)',
    );
  });

  test('a canary above 0% always gets a member; below 100% stable keeps one', () => {
    expect(membersForWeight(stable, canary, { stable: 99, canary: 1 }).canary).toHaveLength(1);
    expect(membersForWeight(stable, canary, { stable: 1, canary: 99 }).stable).toHaveLength(1);
    expect(membersForWeight(stable, canary, { stable: 0, canary: 100 })).toMatchObject({
      stable: [],
      canary,
      effective: { stable: 0, canary: 100 },
    });
    expect(membersForWeight(stable, [], { stable: 100, canary: 0 })).toMatchObject({
      stable,
      canary: [],
      effective: { stable: 100, canary: 0 },
    });
  });

  test('weights with no host to carry them are refused', () => {
    expect(() => membersForWeight(stable, [], { stable: 90, canary: 10 })).toThrow('canary weight 10 but no canary host');
    expect(() => membersForWeight([], canary, { stable: 10, canary: 90 })).toThrow('stable weight 10 but no stable host');
  });
});

describe('the load generator', () => {
  test('sends to loopback only', async () => {
    expect(checkLoadTarget('http://127.0.0.1:8080/').port).toBe('8080');
    expect(checkLoadTarget('http://localhost:8080/').hostname).toBe('localhost');
    await expect(generateLoad('http://10.0.0.5/', { total: 1 })).rejects.toThrow(
      'the load generator sends to loopback only (127.0.0.0/8, ::1, localhost), not 10.0.0.5',
    );
    await expect(generateLoad('https://127.0.0.1/', { total: 1 })).rejects.toThrow('the load generator speaks http only, not https:');
  });
  test('is bounded', async () => {
    await expect(generateLoad('http://127.0.0.1:1/', { total: 0 })).rejects.toThrow(
      'total must be a whole number from 1 to 1000000, got 0',
    );
    await expect(generateLoad('http://127.0.0.1:1/', { total: 10, concurrency: 1000 })).rejects.toThrow(
      'concurrency must be a whole number from 1 to 256, got 1000',
    );
  });
});
