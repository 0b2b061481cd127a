// The local cloud's Linode VPCs and instance addresses, driven through Linode's official client:
// a VPC's subnet gives its instances their private address and lists them, a VPC still holding
// instances is refused, an extra public IPv4 is allocated, moved and removed, and what Linode's
// schemas refuse is refused naming the field. API only (no SSH hosts here).
import {
  allocateIPAddress,
  assignAddresses,
  createFirewall,
  createLinode,
  createVPC,
  deleteLinode,
  deleteVPC,
  getIP,
  getLinode,
  getLinodeIPs,
  getVPC,
  getVPCs,
  removeIPAddress,
} from '@linode/api-v4';
import type { LocalCloud } from '../../src';
import { refusal, startLinodeCloud } from './linode-cloud';

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLinodeCloud({ sshHosts: false, rateLimit: { perMinute: 100_000, perHour: 100_000 } });
});
afterAll(async () => {
  await cloud?.stop();
});

const instance = (label: string, extra: object = {}) =>
  createLinode({ label, region: 'gb-lon', type: 'g6-nanode-1', image: 'linode/debian12', root_pass: 'Aa1!aaaaaaaaaaaaaaaa', ...extra });

async function refused(call: Promise<unknown>): Promise<{ status: number | undefined; body: unknown }> {
  return call.then(
    () => {
      throw new Error('the request was accepted');
    },
    (error: unknown) => refusal(error),
  );
}

test('a VPC subnet gives its instances their private address, lists them, and keeps the VPC until they are gone', async () => {
  const vpc = await createVPC({
    label: 'site-vpc',
    region: 'gb-lon',
    description: 'mark',
    subnets: [{ label: 'site', ipv4: '10.30.0.0/24' }],
  });
  const subnet = vpc.subnets[0]!;
  expect(subnet).toMatchObject({ label: 'site', ipv4: '10.30.0.0/24', linodes: [] });
  const firewall = await createFirewall({ label: 'site-fw', rules: { inbound_policy: 'DROP', outbound_policy: 'ACCEPT' } });
  const made = await instance('site-app-1', {
    interfaces: [{ purpose: 'public' }, { purpose: 'vpc', vpc_id: vpc.id, subnet_id: subnet.id }],
    firewall_id: firewall.id,
  });
  const ips = await getLinodeIPs(made.id);
  expect(ips.ipv4.vpc).toEqual([
    expect.objectContaining({ vpc_id: vpc.id, subnet_id: subnet.id, address: '10.30.0.2', linode_id: made.id }),
  ]);
  expect(ips.ipv4.private).toEqual([]);
  expect((await getVPC(vpc.id)).subnets[0]!.linodes.map((l) => l.id)).toEqual([made.id]);
  expect((await getVPCs({}, { label: 'site-vpc' })).data.map((v) => v.description)).toEqual(['mark']);

  expect(await refused(deleteVPC(vpc.id))).toMatchObject({
    status: 400,
    body: { errors: [{ reason: 'VPC site-vpc cannot be deleted while Linodes are assigned to its subnets (site)' }] },
  });
  await deleteLinode(made.id);
  expect((await getVPC(vpc.id)).subnets[0]!.linodes).toEqual([]);
  await deleteVPC(vpc.id);
  expect((await getVPCs()).data).toEqual([]);
});

/** Sent as is, past the client's own schema check: the emulator must refuse it itself. */
async function post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${cloud.apiUrl}/v4${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

test('bad VPCs and interfaces are refused naming the field, leaving nothing', async () => {
  expect(await post('/vpcs', { label: 'bad vpc', region: 'gb-lon' })).toEqual({
    status: 400,
    body: { errors: [{ reason: 'Label must include only ASCII letters, numbers, and dashes.', field: 'label' }] },
  });
  expect(await post('/vpcs', { label: 'pub', region: 'gb-lon', subnets: [{ label: 's', ipv4: '8.8.8.0/24' }] })).toMatchObject({
    status: 400,
    body: { errors: [{ field: 'subnets[0].ipv4' }] },
  });
  expect(await refused(instance('stray-1', { interfaces: [{ purpose: 'vpc', vpc_id: 999, subnet_id: 999 }] }))).toMatchObject({
    status: 400,
    body: { errors: [{ field: 'interfaces[0].subnet_id' }] },
  });
  expect((await getVPCs()).data).toEqual([]);
});

test('an extra public IPv4 is allocated, moved to another instance of the region, and removed', async () => {
  const a = await instance('ip-a', { private_ip: true });
  const b = await instance('ip-b');
  const extra = await allocateIPAddress(a.id, { type: 'ipv4', public: true });
  expect(extra).toMatchObject({ public: true, linode_id: a.id, region: 'gb-lon', type: 'ipv4' });
  expect((await getLinode(a.id)).ipv4).toEqual([a.ipv4[0], extra.address, a.ipv4[1]]);
  expect((await getLinodeIPs(a.id)).ipv4.public.map((i) => i.address)).toEqual([a.ipv4[0], extra.address]);
  expect(await refused(allocateIPAddress(a.id, { type: 'ipv4', public: false }))).toMatchObject({
    status: 400,
    body: { errors: [{ field: 'public' }] },
  });

  await assignAddresses({ region: 'gb-lon', assignments: [{ address: extra.address, linode_id: b.id }] });
  expect((await getIP(extra.address)).linode_id).toBe(b.id);
  expect((await getLinode(a.id)).ipv4).toEqual(a.ipv4);

  // An instance's own address is not removed; the extra one is, and then is gone.
  expect(await refused(removeIPAddress({ linodeID: b.id, address: b.ipv4[0]! }))).toMatchObject({ status: 400 });
  await removeIPAddress({ linodeID: b.id, address: extra.address });
  expect(await refused(getIP(extra.address))).toMatchObject({ status: 404 });
  // An extra address goes with its instance.
  const again = await allocateIPAddress(a.id, { type: 'ipv4', public: true });
  await deleteLinode(a.id);
  expect(await refused(getIP(again.address))).toMatchObject({ status: 404 });
  await deleteLinode(b.id);
});
