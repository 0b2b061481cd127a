// `opsflow rollout status` for a blue-green rollout: the split in its own words (preview / active),
// which fleet serves, where test traffic reaches the preview, when it switched and switched back.
import { formatRolloutView } from '../../src/client/rollout-view';
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
