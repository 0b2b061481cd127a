// The load balancer membership backend without a cloud: a weight becomes members (1 of 4 = 25%
// when 10% is asked, said so), a change adds and waits for the load balancer to take the new
// members in before it removes and waits (the drain), the same weight again changes nothing,
// rollback puts back the members before the last change, restore the saved ones; and the reasons
// a load balancer cannot be weighted by membership, each named.
import {
  fleetMembership,
  LoadBalancerMembershipRouter,
  takeInMs,
  type LoadBalancerView,
} from '../../src/rollouts/traffic/membership-router';

const ids = { 'app-1': 11, 'app-2': 12, 'app-3': 13, 'app-4': 14 };

function router(members = [11, 12, 13, 14]) {
  const calls: string[] = [];
  const r = new LoadBalancerMembershipRouter({
    loadBalancer: { setMembers: async (m) => void calls.push(`set ${[...m].sort().join(',')}`) },
    ids,
    members,
    takeInMs: 9000,
    drainMs: 10_000,
    wait: async (ms, why) => void calls.push(`wait ${ms} ${why}`),
  });
  return { r, calls };
}

test('10% asked over 1 canary and 3 stable hosts: all four members, 25% given, and the status says so', async () => {
  const { r, calls } = router();
  r.setHosts(['app-2', 'app-3', 'app-4'], ['app-1']);
  await r.setWeights({ stable: 90, canary: 10 });
  expect(calls).toEqual([]); // the same four members: nothing to change
  expect(r.plan!.effective).toEqual({ stable: 75, canary: 25 });
  expect(r.describe()).toBe('weight by membership: 1 of 4 hosts = 25%, asked 10%');
  expect(await r.currentWeights()).toEqual({ stable: 75, canary: 25 });
});

test('a change adds first and waits for the take-in, then removes and waits for the drain; the same weight again changes nothing', async () => {
  const { r, calls } = router([12, 13, 14]); // app-1 out while it changed version
  r.setHosts(['app-3', 'app-4'], ['app-1', 'app-2']);
  await r.setWeights({ stable: 0, canary: 100 });
  expect(calls).toEqual([
    'set 11,12,13,14',
    'wait 9000 the load balancer takes in app-1',
    'set 11,12',
    'wait 10000 drain app-3, app-4 (the load balancer does not)',
  ]);
  expect(r.members.sort()).toEqual([11, 12]);
  expect(r.describe()).toBe('weight by membership: 2 of 2 hosts = 100%, asked 100%');
  calls.length = 0;
  await r.setWeights({ stable: 0, canary: 100 });
  expect(calls).toEqual([]);
  expect(r.changes).toBe(1);

  // Rollback: the members before the last change, added before anything is removed.
  expect(await r.rollback()).toEqual({ stable: 67, canary: 33 });
  expect(calls).toEqual([
    'set 11,12,13,14',
    'wait 9000 the load balancer takes in app-3, app-4',
    'set 12,13,14',
    'wait 10000 drain app-1 (the load balancer does not)',
  ]);
  calls.length = 0;
  await r.restore([11, 12, 13, 14]);
  expect(calls).toEqual(['set 11,12,13,14', 'wait 9000 the load balancer takes in app-1']);
});

test('a host the load balancer does not know is refused', () => {
  const { r } = router();
  expect(() => r.setHosts(['app-9'], [])).toThrow('app-9 has no server id');
});

const lb = (over: Partial<LoadBalancerView> = {}): LoadBalancerView => ({
  name: 'stack-e-web',
  status: 'active',
  members: [
    { id: 11, name: 'e-app-1', publicIp: '127.9.0.2', privateIp: '10.0.0.2' },
    { id: 12, name: 'e-app-2', publicIp: '127.9.0.3', privateIp: '10.0.0.3' },
  ],
  forwarding: [{ entryPort: 80, targetPort: 8080 }],
  healthCheck: { intervalSeconds: 3, healthyThreshold: 2 },
  ...over,
});
const fleet = [
  { instance: 'app-1', host: '127.9.0.2' },
  { instance: 'app-2', host: '127.9.0.3' },
];

test('the fleet matched to the members by address; every reason it cannot work named', () => {
  expect(fleetMembership(lb(), fleet, 8080)).toEqual({ ids: { 'app-1': 11, 'app-2': 12 }, problems: [] });
  expect(takeInMs(lb())).toBe(9000);
  const { problems } = fleetMembership(
    lb({
      tag: 'web',
      status: 'new',
      members: [
        { id: 11, name: 'e-app-1', publicIp: '127.9.0.2', privateIp: '10.0.0.2' },
        { id: 19, name: 'intruder', publicIp: '127.9.0.9', privateIp: '10.0.0.9' },
      ],
      forwarding: [{ entryPort: 80, targetPort: 80 }],
    }),
    fleet,
    8080,
  );
  expect(problems).toEqual([
    'load balancer stack-e-web selects its droplets by tag web: membership weighting adds and removes droplets by id; give it droplet_ids instead',
    'load balancer stack-e-web is new, not active',
    'fleet host app-2 (127.9.0.3) is not in load balancer stack-e-web (its droplets: e-app-1 (127.9.0.2), intruder (127.9.0.9))',
    'load balancer stack-e-web also sends to intruder (127.9.0.9), which is not in the fleet: its share could be counted as neither version',
    "load balancer stack-e-web forwards to port 80, not the fleet's port 8080",
  ]);
});
