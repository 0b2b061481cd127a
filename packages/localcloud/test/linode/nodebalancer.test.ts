// A NodeBalancer really balances: connections to its address and port reach its nodes (named by
// their private addresses) in the ratio of their weights, a node that stops answering is marked
// DOWN and skipped until it answers again, and a deleted balancer stops listening.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createLinode,
  createNodeBalancer,
  deleteNodeBalancer,
  getNodeBalancerConfigNodes,
  getNodeBalancerConfigs,
  type Linode,
} from '@linode/api-v4';
import type { LocalCloud } from '../../src';
import { until } from '../../../../test/helpers/until';
import { startLinodeCloud } from './linode-cloud';

let cloud: LocalCloud;
const backends: http.Server[] = [];
beforeAll(async () => {
  cloud = await startLinodeCloud({ sshHosts: false, rateLimit: { perMinute: 100_000, perHour: 100_000 } });
});
afterAll(async () => {
  for (const server of backends) server.close();
  await cloud?.stop();
});

/** An app on the instance's host address (where its services listen), answering with its label. */
async function serveOn(linode: Linode, port: number): Promise<http.Server> {
  const server = http.createServer((_request, response) => response.end(linode.label));
  await new Promise<void>((resolve) => server.listen(port, linode.ipv4[0], resolve));
  backends.push(server);
  return server;
}

/** One request on a fresh connection (no keep-alive: the balancer picks per connection). */
function get(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, path: '/', agent: false }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

test('weighted round robin over private addresses, a dead node skipped and marked DOWN, gone when deleted', async () => {
  const apps: Linode[] = [];
  for (const label of ['lb-app-1', 'lb-app-2'])
    apps.push(await createLinode({ label, region: 'gb-lon', type: 'g6-nanode-1', private_ip: true }));
  const first = await serveOn(apps[0] as Linode, 0);
  const appPort = (first.address() as AddressInfo).port;
  await serveOn(apps[1] as Linode, appPort);
  const privateOf = (linode: Linode) => linode.ipv4[1] as string;

  const nb = await createNodeBalancer({
    region: 'gb-lon',
    label: 'weighted-lb',
    configs: [
      {
        port: 18080 + (process.pid % 1000),
        protocol: 'tcp',
        check_interval: 2,
        nodes: [
          { label: 'heavy', address: privateOf(apps[0] as Linode), port: appPort, weight: 3 },
          { label: 'light', address: privateOf(apps[1] as Linode), port: appPort, weight: 1 },
        ],
      },
    ] as never,
  });
  const config = (await getNodeBalancerConfigs(nb.id)).data[0]!;
  const answers: string[] = [];
  for (let i = 0; i < 40; i++) answers.push(await get(nb.ipv4, config.port));
  expect(answers.filter((a) => a === 'lb-app-1')).toHaveLength(30);
  expect(answers.filter((a) => a === 'lb-app-2')).toHaveLength(10);
  expect((await getNodeBalancerConfigNodes(nb.id, config.id)).data.map((n) => n.status)).toEqual(['UP', 'UP']);

  // The heavy node's app stops: every connection goes to the other, and the node shows DOWN.
  await new Promise((resolve) => first.close(resolve));
  const after: string[] = [];
  for (let i = 0; i < 8; i++) after.push(await get(nb.ipv4, config.port));
  expect(after).toEqual(Array(8).fill('lb-app-2'));
  const nodes = (await getNodeBalancerConfigNodes(nb.id, config.id)).data;
  expect(nodes.map((n) => [n.label, n.status])).toEqual([
    ['heavy', 'DOWN'],
    ['light', 'UP'],
  ]);
  expect((await getNodeBalancerConfigs(nb.id)).data[0]?.nodes_status).toEqual({ up: 1, down: 1 });

  // It comes back: the recheck finds it UP, and it takes its share again.
  await serveOn(apps[0] as Linode, appPort);
  await until('the heavy node UP again', async () =>
    (await getNodeBalancerConfigNodes(nb.id, config.id)).data[0]?.status === 'UP' ? true : undefined,
  );
  const back: string[] = [];
  for (let i = 0; i < 8; i++) back.push(await get(nb.ipv4, config.port));
  expect(back.filter((a) => a === 'lb-app-1').length).toBeGreaterThanOrEqual(5);

  await deleteNodeBalancer(nb.id);
  await expect(get(nb.ipv4, config.port)).rejects.toThrow();
});
