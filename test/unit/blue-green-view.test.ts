// `opsflow rollout status` for a blue-green rollout: the split in its own words (preview / active),
// which fleet serves, where test traffic reaches the preview, when it switched and switched back;
// with preview droplets made for the rollout, each droplet's address and state.
import { formatRolloutView, rolloutProgressLines } from '../../src/client/rollout-view';
import type { RolloutView } from '../../src/workflows/release/rollout-api';

const view = (blueGreen: Partial<NonNullable<RolloutView['blueGreen']>>, weights: RolloutView['weight']['effective']): RolloutView => ({
  strategy: 'blue-green',
  phase: 'progressing',
  requestedBy: 'alice@ops',
  stableImages: { shop: 'ghcr.io/acme/shop:1.0' },
  canaryImages: { shop: 'ghcr.io/acme/shop:1.1' },
  weight: { asked: weights, effective: weights },
  stepIndex: 7,
  stepCount: 10,
  step: { index: 7, kind: 'analysis', detail: 'post-promotion analysis' },
  canaryHosts: ['app-2'],
  stableHosts: ['app-1'],
  analyses: [],
  updates: [],
  blueGreen: { activeHosts: ['app-1'], previewHosts: ['app-2'], previewServers: ['10.0.0.2:8080'], serving: 'active', ...blueGreen },
});

test('before the switch, after it, and after a switch back', () => {
  expect(
    formatRolloutView(view({}, { stable: 100, canary: 0 }), 'shop')
      .split('\n')
      .slice(1, 5),
  ).toEqual([
    '  traffic: preview 0% / active 100%',
    '  hosts: canary app-2; stable app-1',
    '  images: shop ghcr.io/acme/shop:1.0 -> ghcr.io/acme/shop:1.1',
    '  blue-green: serving the active fleet app-1 · preview app-2 (test traffic: 10.0.0.2:8080)',
  ]);
  const switched = view(
    { serving: 'preview', switchedAt: '2026-12-02T04:00:00.000Z', keptWarmUntil: '2026-12-02T04:10:00.000Z' },
    { stable: 0, canary: 100 },
  );
  expect(formatRolloutView(switched, 'shop')).toContain(
    '  blue-green: serving the preview app-2 · preview app-2 (test traffic: 10.0.0.2:8080) · switched 2026-12-02T04:00:00.000Z · app-1 kept warm until 2026-12-02T04:10:00.000Z',
  );
  const back = view({ switchedAt: '2026-12-02T04:00:00.000Z', switchedBackAt: '2026-12-02T04:00:09.000Z' }, { stable: 100, canary: 0 });
  expect(formatRolloutView(back, 'shop')).toContain('· switched 2026-12-02T04:00:00.000Z · switched back 2026-12-02T04:00:09.000Z');
});

test('preview droplets made for the rollout: their address and state, and the fleet serving again at the end', () => {
  const droplet = { instance: 'web-preview-1', name: 'stack-c-web-preview-1', address: '203.0.113.7' };
  const serving = view(
    {
      activeHosts: ['web'],
      previewHosts: ['web-preview-1'],
      previewServers: ['203.0.113.7:3001'],
      serving: 'preview',
      previewDroplets: [{ ...droplet, state: 'serving' }],
    },
    { stable: 0, canary: 100 },
  );
  expect(formatRolloutView(serving, 'stack-c')).toContain(
    '  blue-green: serving the preview web-preview-1 · preview web-preview-1 (test traffic: 203.0.113.7:3001) · preview droplets: stack-c-web-preview-1 (203.0.113.7) serving',
  );
  const done = view(
    {
      activeHosts: ['web'],
      previewHosts: ['web-preview-1'],
      previewServers: ['203.0.113.7:3001'],
      keptWarmUntil: '2026-12-02T04:10:00.000Z',
      returnedToFleetAt: '2026-12-02T04:10:05.000Z',
      previewDroplets: [{ ...droplet, state: 'destroyed' }],
    },
    { stable: 100, canary: 0 },
  );
  const text = formatRolloutView(done, 'stack-c');
  expect(text).toContain(
    '· web on the new version, serving again since 2026-12-02T04:10:05.000Z · preview droplets: stack-c-web-preview-1 (203.0.113.7) destroyed',
  );
  expect(text).not.toContain('kept warm until');
  const lines = rolloutProgressLines('stack-c')({ rollout: serving } as never).map((l) => l.text);
  expect(lines).toContain('    ⊕ preview droplet stack-c-web-preview-1 (203.0.113.7): serving\n');
});
