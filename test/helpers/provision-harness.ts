// The setup every provisioning test file shares: a Temporal dev server, a local cloud with fast
// timing and droplet hosts, both opsflow workers, and the local cloud's control API.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud, LocalCloudOptions } from '@opsflow/localcloud';
import { startLocalCloud } from './localcloud';
import type { TestCodec } from './codec';
import { startOpsflowWorkers, type OpsflowWorkers } from './opsflow-workers';
import { startTemporal } from './temporal';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ProvisionHarness {
  env: TestWorkflowEnvironment;
  cloud: LocalCloud;
  workers: OpsflowWorkers;
  stop(): Promise<void>;
}

/** With `codec`, the test's client and both workers encrypt payloads. */
export async function startProvisionHarness(cloudOptions: Partial<LocalCloudOptions> = {}, codec?: TestCodec): Promise<ProvisionHarness> {
  const env = await startTemporal({ dataConverter: codec?.dataConverter });
  const { cloud } = await startLocalCloud({
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
    timing: { dropletCreateMs: 1500, actionMs: 150 },
    ...cloudOptions,
  });
  const workers = await startOpsflowWorkers(env, cloud, { STACK_A_POSTGRES_PASSWORD: 'correct-horse-battery' }, codec);
  return {
    env,
    cloud,
    workers,
    async stop() {
      await workers.stop();
      await cloud.stop();
      await env.teardown();
    },
  };
}

/** A call to the local cloud's control API (/_localcloud/<what>). */
export async function localCloudControl(cloud: LocalCloud, method: string, what: string, body?: unknown): Promise<Body> {
  const response = await fetch(`${cloud.apiUrl}/_localcloud/${what}`, {
    method,
    headers: { ...cloud.controlHeaders, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return response.json() as Promise<Body>;
}

/**
 * What the inventory still holds of an environment, by name and by its opsflow tag. Reserved IPs
 * have neither: one on a droplet that is gone is always a leftover, and with `unassignedIps` an
 * unassigned one is too (only safe when no other run is assigning an IP at the time).
 */
export function leftovers(inv: Body, environment: string, options: { unassignedIps?: boolean } = {}): string[] {
  const ours = (name: string, tags: string[] = []) => name.startsWith(`${environment}-`) || tags.includes(`opsflow-env:${environment}`);
  const dropletIds = new Set<number>(inv.droplets.map((d: Body) => d.id));
  const strayIp = (r: Body) => (r.droplet_id === null ? options.unassignedIps === true : !dropletIds.has(r.droplet_id));
  return [
    ...inv.droplets.filter((d: Body) => ours(d.name, d.tags)).map((d: Body) => `droplet ${d.name}`),
    ...inv.volumes.filter((v: Body) => ours(v.name, v.tags)).map((v: Body) => `volume ${v.name}`),
    // An attachment to a droplet that no longer exists would be one left behind too.
    ...inv.volumes.filter((v: Body) => v.droplet_ids.some((id: number) => !dropletIds.has(id))).map((v: Body) => `attachment of ${v.name}`),
    ...inv.firewalls.filter((f: Body) => ours(f.name, f.tags)).map((f: Body) => `firewall ${f.name}`),
    ...inv.vpcs.filter((v: Body) => ours(v.name)).map((v: Body) => `vpc ${v.name}`),
    ...inv.reserved_ips.filter(strayIp).map((r: Body) => `reserved IP ${r.ip}`),
  ];
}
