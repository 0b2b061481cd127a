// Cloud firewalls hold between droplets (issue 15: a failover cuts the failed site's app servers
// off the surviving database by firewall, so the local cloud must enforce what a firewall says).
// A firewall on `db` lets only `app-a` in on its SSH port: from app-a a connection opens, from
// app-b it is reset; the rules replaced to name app-b (by tag), it is the other way round; the
// firewall deleted, both get in. The machine is never judged (the test's own SSH keeps working).
import type { LocalCloud } from '../../src';
import type { ContractClient } from '../../../../test/helpers/do-api';
import { connect, createHostDroplet, exec, registerKey, type TestDroplet } from '../../../../test/helpers/droplet-host';
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { generateEd25519 } from '../../../../test/helpers/ssh-keys';

jest.setTimeout(5 * 60_000);

const key = generateEd25519();
let cloud: LocalCloud;
let api: ContractClient;
let db: TestDroplet;
let appA: TestDroplet;
let appB: TestDroplet;

beforeAll(async () => {
  ({ cloud, api } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  const keyId = await registerKey(api, 'deploy', key.public);
  [db, appA, appB] = (await Promise.all(['fw-db', 'fw-app-a', 'fw-app-b'].map((name) => createHostDroplet(cloud, api, name, [keyId])))) as [
    TestDroplet,
    TestDroplet,
    TestDroplet,
  ];
  const tagged = await api.call('POST', '/v2/tags/app-b/resources', {
    resources: [{ resource_id: String(appB.id), resource_type: 'droplet' }],
  });
  expect(tagged.status).toBe(204);
});
afterAll(async () => {
  await cloud?.stop();
});

/** Whether a TCP connection `from` opens to db's SSH port gets the SSH banner ('open') or not. */
async function reachesDb(from: TestDroplet): Promise<'open' | 'refused'> {
  const { client } = await connect(from, key.private);
  try {
    const result = await exec(client, `exec 3<>/dev/tcp/${db.address}/${db.port} && head -c 8 <&3`);
    if (result.code === 0 && result.stdout === 'SSH-2.0-') return 'open';
    expect(result.stderr).toMatch(/Connection (reset|refused)/);
    return 'refused';
  } finally {
    client.end();
  }
}

test('a firewall lets in only the droplets its inbound rules name, follows a rule change and goes with its deletion', async () => {
  expect([await reachesDb(appA), await reachesDb(appB)]).toEqual(['open', 'open']);

  const rule = (sources: Record<string, unknown>) => ({ protocol: 'tcp', ports: String(db.port), sources });
  const created = await api.call<{ firewall: { id: string } }>('POST', '/v2/firewalls', {
    name: 'fw-db',
    droplet_ids: [db.id],
    inbound_rules: [rule({ droplet_ids: [appA.id] })],
    outbound_rules: [{ protocol: 'tcp', ports: 'all', destinations: { addresses: ['0.0.0.0/0'] } }],
  });
  expect(created.status).toBe(202);
  const id = created.body.firewall.id;
  expect([await reachesDb(appA), await reachesDb(appB)]).toEqual(['open', 'refused']);

  const updated = await api.call('PUT', `/v2/firewalls/${id}`, {
    name: 'fw-db',
    droplet_ids: [db.id],
    inbound_rules: [rule({ tags: ['app-b'] })],
  });
  expect(updated.status).toBe(200);
  expect([await reachesDb(appA), await reachesDb(appB)]).toEqual(['refused', 'open']);

  // An address rule: app-a's public address.
  const byAddress = await api.call('POST', `/v2/firewalls/${id}/rules`, { inbound_rules: [rule({ addresses: [`${appA.address}/32`] })] });
  expect(byAddress.status).toBe(204);
  expect([await reachesDb(appA), await reachesDb(appB)]).toEqual(['open', 'open']);

  expect((await api.call('DELETE', `/v2/firewalls/${id}/rules`, { inbound_rules: [rule({ tags: ['app-b'] })] })).status).toBe(204);
  expect([await reachesDb(appA), await reachesDb(appB)]).toEqual(['open', 'refused']);

  expect((await api.call('DELETE', `/v2/firewalls/${id}`)).status).toBe(204);
  expect([await reachesDb(appA), await reachesDb(appB)]).toEqual(['open', 'open']);
});
