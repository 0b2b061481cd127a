// What a finished provisioning tells the environment's inventory: its hosts with the host keys
// pinned on first contact, how to reach them, the application, the spec's health checks (what
// deploys are held to) and the cloud resources made.
import type { EnvironmentSpec } from '../../specs/environment';
import type { InventoryChange } from './inventory';
import type { ProvisionResult } from './provision-environment';

export function provisionedChange(spec: EnvironmentSpec, result: ProvisionResult): InventoryChange {
  return {
    kind: 'provisioned',
    cloud: spec.cloud,
    region: spec.region,
    hosts: result.hosts.map((h) => ({
      instance: h.instance,
      dropletId: h.dropletId,
      address: h.address,
      privateAddress: h.privateAddress,
      hostKey: h.hostKey,
    })),
    ssh: result.ssh,
    ...(result.application ? { application: { directory: result.application.directory, images: { ...result.application.images } } } : {}),
    healthChecks: spec.healthChecks.map((c) => ({
      name: c.name,
      port: c.port,
      path: c.path,
      expectStatus: c.expectStatus,
      intervalSeconds: c.intervalSeconds,
      attempts: c.attempts,
      // Only when given, so the inventory of a check without them is the same as before.
      ...(c.paths ? { paths: [...c.paths] } : {}),
      ...(c.expectBodyContains !== undefined ? { expectBodyContains: c.expectBodyContains } : {}),
      ...(c.expectBodyMatches !== undefined ? { expectBodyMatches: c.expectBodyMatches } : {}),
      ...(c.expectHeaders ? { expectHeaders: { ...c.expectHeaders } } : {}),
    })),
    resources: {
      ...(result.vpcId ? { vpcId: result.vpcId } : {}),
      ...(result.firewallId ? { firewallId: result.firewallId } : {}),
      volumes: result.volumes.map((v) => ({ name: v.name, id: v.id })),
      ...(result.reservedIp ? { reservedIp: result.reservedIp } : {}),
    },
  };
}
