// Which fleet hosts are active and which become the preview in a blue-green rollout, from the
// servers nginx's upstream sends traffic to (issue 14, blue-green): fixed halves that swap roles.
import { chooseBlueGreenFleets } from '../../src/rollouts/blue-green-fleets';
import { renderUpstream, serversInRotation } from '../../src/rollouts/traffic/nginx-config';

const fleet = ['app-1', 'app-2', 'app-3', 'app-4'].map((instance, i) => ({ instance, server: `10.0.0.${i + 1}:8080` }));

test('the servers in rotation: every server of the upstream but those down or backup, in opsflow files and hand-written ones', () => {
  const written = renderUpstream({ upstream: 'shop', stable: ['10.0.0.1:8080'], canary: ['10.0.0.2:8080'] }, { stable: 0, canary: 100 });
  expect(serversInRotation(written, 'shop')).toEqual(['10.0.0.2:8080']);
  const byHand =
    'upstream other {\n  server 10.9.9.9:80;\n}\nupstream shop {\n    server 10.0.0.1:8080;\n  server 10.0.0.3:8080 weight=2 max_fails=3;\n  server 10.0.0.4:8080 backup;\n}\n';
  expect(serversInRotation(byHand, 'shop')).toEqual(['10.0.0.1:8080', '10.0.0.3:8080']);
  expect(serversInRotation('', 'shop')).toEqual([]);
  expect(() => serversInRotation('', 'a{')).toThrow(/upstream name "a\{"/);
});

test('hosts out of rotation become the preview; those in rotation stay active', () => {
  expect(chooseBlueGreenFleets(fleet, ['10.0.0.1:8080', '10.0.0.2:8080'])).toEqual({
    active: ['app-1', 'app-2'],
    preview: ['app-3', 'app-4'],
    idle: [],
    tookFromRotation: false,
  });
  expect(chooseBlueGreenFleets(fleet, ['10.0.0.3:8080'], 2)).toEqual({
    active: ['app-3'],
    preview: ['app-1', 'app-2'],
    idle: ['app-4'],
    tookFromRotation: false,
  });
});

test('when every host serves, the preview (previewFleet.size, default half) is taken from the end of the fleet', () => {
  const all = fleet.map((h) => h.server);
  expect(chooseBlueGreenFleets(fleet, all)).toMatchObject({
    active: ['app-1', 'app-2'],
    preview: ['app-3', 'app-4'],
    tookFromRotation: true,
  });
  expect(chooseBlueGreenFleets(fleet, all, 1)).toMatchObject({ active: ['app-1', 'app-2', 'app-3'], preview: ['app-4'] });
  expect(() => chooseBlueGreenFleets(fleet, all, 4)).toThrow('previewFleet.size is 4, but all 4 fleet hosts serve now');
});

test('refused: no fleet host serves, a server nginx serves outside the fleet, a preview larger than the hosts out of rotation', () => {
  expect(() => chooseBlueGreenFleets(fleet, [])).toThrow("nginx's upstream sends traffic to none of the fleet");
  expect(() => chooseBlueGreenFleets(fleet, ['10.0.0.1:8080', '10.0.0.9:80'])).toThrow(
    "nginx's upstream also sends traffic to 10.0.0.9:80, which is not in the fleet",
  );
  expect(() => chooseBlueGreenFleets(fleet, ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080'], 2)).toThrow(
    'previewFleet.size is 2, but only 1 fleet host is out of rotation (app-4)',
  );
});

test('created preview droplets take no fleet host: every host nginx serves is active; a one-host fleet is told to create them', () => {
  expect(chooseBlueGreenFleets(fleet.slice(0, 1), ['10.0.0.1:8080'], undefined, true)).toEqual({
    active: ['app-1'],
    preview: [],
    idle: [],
    tookFromRotation: false,
  });
  expect(chooseBlueGreenFleets(fleet, ['10.0.0.1:8080', '10.0.0.2:8080'], undefined, true)).toMatchObject({
    active: ['app-1', 'app-2'],
    idle: ['app-3', 'app-4'],
  });
  expect(() => chooseBlueGreenFleets(fleet.slice(0, 1), ['10.0.0.1:8080'], undefined, true)).not.toThrow();
  expect(() => chooseBlueGreenFleets(fleet.slice(0, 1), ['10.0.0.1:8080'])).toThrow(
    'the preview (half the fleet, rounded down, unless previewFleet.size says) is 0 hosts, but all 1 fleet host serves now: the preview is taken from them and at least one must stay active; or set blueGreen.previewFleet: {create: 1}',
  );
  expect(() => chooseBlueGreenFleets(fleet, [], undefined, true)).toThrow("nginx's upstream sends traffic to none of the fleet");
});
