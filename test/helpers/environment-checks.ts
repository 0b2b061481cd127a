// What must hold of provisioned stack A environments after chaos: in the local cloud's inventory,
// exactly one of each resource per environment and nothing else; on each host, the whole compose
// stack running on its mounted volume.
import type { ProvisionResult } from '../../src/workflows/environment/provision-environment';
import { firewallName, networkName, serverName, volumeName } from '../../src/names/resource-names';
import { connect, exec } from './droplet-host';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every resource belongs to exactly one environment, and each environment has exactly one of each. */
export function expectExactlyOneEach(inv: Body, results: ProvisionResult[]): void {
  const names = results.map((r) => r.environment).sort();
  expect(inv.droplets.map((d: Body) => d.name).sort()).toEqual(names.map((n) => serverName(n, 'app')));
  expect(inv.volumes.map((v: Body) => v.name).sort()).toEqual(names.map((n) => volumeName(n, 'pgdata')));
  expect(inv.vpcs.map((v: Body) => v.name).sort()).toEqual(names.map(networkName));
  expect(inv.firewalls.map((f: Body) => f.name).sort()).toEqual(names.map(firewallName));
  // Each volume on its own environment's droplet, each reserved IP on one, none spare.
  const dropletOf = (environment: string) => inv.droplets.find((d: Body) => d.name === serverName(environment, 'app')).id;
  for (const r of results) {
    expect(inv.volumes.find((v: Body) => v.name === volumeName(r.environment, 'pgdata')).droplet_ids).toEqual([dropletOf(r.environment)]);
    expect(inv.reserved_ips.filter((ip: Body) => ip.droplet_id === dropletOf(r.environment))).toEqual([
      { ip: r.reservedIp, droplet_id: dropletOf(r.environment) },
    ]);
  }
  expect(inv.reserved_ips).toHaveLength(names.length);
  // The deploy key once, however many workers raced to register it.
  expect(inv.ssh_keys).toHaveLength(1);
}

/** The hosts really run stack A: every service answers, and compose shows all six running. */
export async function expectHostsServing(results: ProvisionResult[], deployKey: string): Promise<void> {
  for (const r of results) {
    for (const url of r.urls) expect({ url, status: (await fetch(url)).status }).toEqual({ url, status: 200 });
    const host = r.hosts[0]!;
    const { client, fingerprint } = await connect(
      { id: host.dropletId, address: host.address, port: r.ssh.port, region: 'fra1' },
      deployKey,
    );
    try {
      expect(fingerprint).toBe(host.hostKey);
      const ps = await exec(
        client,
        "cd /opt/app && docker compose ps --format '{{.Service}} {{.State}}' && mountpoint -q /mnt/pgdata && echo mounted",
      );
      expect({ environment: r.environment, ps: ps.stdout.trim().split('\n').sort() }).toEqual({
        environment: r.environment,
        ps: ['auth running', 'booking running', 'fleet running', 'frontend running', 'mounted', 'payment running', 'postgres running'],
      });
    } finally {
      client.end();
    }
  }
}
