// A stack E site on Linode (examples/stack-e-lon.yaml, `cloud: linode`) through the same workflows
// as DigitalOcean's, on the real Temporal server against the local cloud's Linode API: provisioned
// (VPC, firewall guarding every instance, instances answering SSH with the pinned host keys, the
// volume mounted at Linode's device path, the extra public IPv4 reaching app-1), deployed, then
// destroyed with nothing of it left in the cloud's Linode state; and a failure after all of that
// infrastructure exists rolls it all back.
import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client } from 'ssh2';
import { sha256Fingerprint, type LocalCloud } from '@opsflow/localcloud';
import { buildDeployInput } from '../../../src/client/deploy';
import { loadEnvironmentSpec } from '../../../src/specs/load';
import type { EnvironmentSpec } from '../../../src/specs/environment';
import { OpsCloud } from '../../../src/temporal/search-attributes';
import type { DeployResult } from '../../../src/workflows/release/deploy-release';
import type { ProvisionResult } from '../../../src/workflows/environment/provision-environment';
import type { OperationStatus } from '../../../src/workflows/shared/status';
import { exec } from '../../helpers/droplet-host';
import type { OpsflowWorkers } from '../../helpers/opsflow-workers';
import { localCloudControl, startProvisionHarness, type ProvisionHarness } from '../../helpers/provision-harness';
import { uniqueTaskQueue } from '../../helpers/temporal';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let harness: ProvisionHarness;
let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let workers: OpsflowWorkers;

beforeAll(async () => {
  harness = await startProvisionHarness();
  ({ env, cloud, workers } = harness);
});
afterAll(async () => {
  await harness?.stop();
});

// The example as written, with two app servers instead of three (the machine is shared) and a
// quick health gate.
const example = loadEnvironmentSpec(path.join(__dirname, '..', '..', '..', 'examples', 'stack-e-lon.yaml'));
function spec(changes: Partial<EnvironmentSpec> = {}): EnvironmentSpec {
  return {
    ...structuredClone(example),
    droplets: example.droplets.map((d) => ({ ...d, count: 2 })),
    healthChecks: example.healthChecks.map((c) => ({ ...c, intervalSeconds: 1, attempts: 20 })),
    ...changes,
  };
}

/** What the cloud's Linode state holds of an environment: by its tag, its label prefix, or its instances. */
async function linodeState(environment: string): Promise<Body> {
  const all = (await localCloudControl(cloud, 'GET', 'inventory')).linode as Body;
  const ours = (r: Body) => (r.tags ?? []).includes(`opsflow-env:${environment}`) || (r.label as string).startsWith(`${environment}-`);
  const instances = all.instances.filter(ours);
  const others = new Set(all.instances.filter((i: Body) => !ours(i)).map((i: Body) => i.id));
  return {
    instances,
    volumes: all.volumes.filter(ours),
    firewalls: all.firewalls.filter(ours),
    vpcs: all.vpcs.filter((v: Body) => ours(v) || (v.description as string).split(' ').includes(`opsflow-env:${environment}`)),
    // An address on no other environment's instance would be one of ours left behind.
    extra_ips: all.extra_ips.filter((x: Body) => !others.has(x.linode_id)),
    nodebalancers: all.nodebalancers.filter(ours),
  };
}
const nothingLeft = { instances: [], volumes: [], firewalls: [], vpcs: [], extra_ips: [], nodebalancers: [] };

function run<T>(type: string, workflowId: string, input: unknown): Promise<T> {
  const taskQueue = uniqueTaskQueue('linode');
  return workers.withWorkflowWorker(taskQueue, () => env.client.workflow.execute(type, { taskQueue, workflowId, args: [input] }));
}

/** Logs in as root only if the host presents the key the provisioning pinned. */
function connectPinned(address: string, port: number, hostKey: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      .on('ready', () => resolve(client))
      .on('error', reject)
      .connect({
        host: address,
        port,
        username: 'root',
        privateKey: workers.deployKey,
        readyTimeout: 20_000,
        hostVerifier: (key: Buffer) => sha256Fingerprint(key) === hostKey,
      });
  });
}

async function onHost<T>(address: string, result: ProvisionResult, hostKey: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectPinned(address, result.ssh.port, hostKey);
  try {
    return await fn(client);
  } finally {
    client.end();
  }
}

test('a Linode site: provisioned in its VPC behind its firewall, volume mounted, deployed, destroyed to nothing', async () => {
  const environment = 'stack-e-lon';
  const taskQueue = uniqueTaskQueue('linode');
  const result = await workers.withWorkflowWorker(taskQueue, async () => {
    const handle = await env.client.workflow.start('provisionEnvironment', {
      taskQueue,
      workflowId: `provision-${environment}`,
      args: [{ spec: spec() }],
    });
    const value = (await handle.result()) as ProvisionResult;
    const status = await handle.query<OperationStatus>('status');
    expect(status.step).toBe('done');
    expect(status.resources.map((r) => r.kind).sort()).toEqual(['droplet', 'droplet', 'firewall', 'reserved_ip', 'volume', 'vpc']);
    expect((await handle.describe()).searchAttributes[OpsCloud.name]).toEqual(['linode']);
    // Every provider call went to Linode's queue.
    const history = await handle.fetchHistory();
    const providerSteps = [
      'ensureSshKey',
      'ensureNetwork',
      'ensureFirewall',
      'ensureServers',
      'waitForServers',
      'ensureVolume',
      'attachVolume',
      'ensureFloatingIp',
    ];
    const scheduled = history
      .events!.map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => providerSteps.includes(a?.activityType?.name ?? ''));
    expect(new Set(scheduled.map((a) => a!.activityType!.name))).toEqual(new Set(providerSteps));
    const queues = new Set(scheduled.map((a) => a!.taskQueue!.name));
    expect([...queues]).toEqual(['opsflow-linode']);
    return value;
  });

  // Instances in the VPC's range, each answering SSH with the key pinned at first contact.
  expect(result.droplets.map((d) => d.name)).toEqual(['stack-e-lon-app-1', 'stack-e-lon-app-2']);
  for (const d of result.droplets)
    expect(d).toMatchObject({ publicIp: expect.stringMatching(/^127\./), privateIp: expect.stringMatching(/^10\.30\./) });
  expect(result.volumes).toEqual([
    {
      name: 'stack-e-lon-data',
      id: expect.any(String),
      droplet: 'stack-e-lon-app-1',
      mountPoint: '/mnt/data',
      device: '/dev/disk/by-id/scsi-0Linode_Volume_stack-e-lon-data',
    },
  ]);
  const state = await linodeState(environment);
  expect(state.instances.map((i: Body) => [i.label, i.status, i.region])).toEqual([
    ['stack-e-lon-app-1', 'running', 'gb-lon'],
    ['stack-e-lon-app-2', 'running', 'gb-lon'],
  ]);
  expect(state.vpcs.map((v: Body) => v.label)).toEqual(['stack-e-lon-vpc']);
  // The firewall holds the spec's rules, closed otherwise, and guards both instances.
  const [firewall] = (
    (await (await fetch(`${cloud.apiUrl}/v4/networking/firewalls`, { headers: { Authorization: `Bearer ${cloud.token}` } })).json()) as {
      data: Body[];
    }
  ).data;
  expect(firewall!.rules.inbound_policy).toBe('DROP');
  expect(firewall!.rules.inbound.map((r: Body) => [r.protocol, r.ports, r.addresses.ipv4])).toEqual([
    ['TCP', '22', ['0.0.0.0/0']],
    ['TCP', '3000', ['0.0.0.0/0']],
    ['TCP', '8083', ['0.0.0.0/0']],
    ['TCP', '8081-8082', ['10.30.0.0/16']],
  ]);
  expect(firewall!.entities.map((e: Body) => e.id).sort()).toEqual(result.droplets.map((d) => d.id).sort());
  // The volume on app-1, and the extra public IPv4 assigned to it.
  const app1 = result.droplets[0]!;
  expect(state.volumes).toEqual([expect.objectContaining({ label: 'stack-e-lon-data', linode_id: app1.id })]);
  expect(state.extra_ips).toEqual([{ address: result.reservedIp, linode_id: app1.id }]);

  const hostKey = (instance: string) => result.hosts.find((h) => h.instance === instance)!.hostKey;
  for (const host of result.hosts) {
    const ps = await onHost(host.address, result, host.hostKey, (c) =>
      exec(c, "cd /opt/app && docker compose ps --format '{{.Service}} {{.Image}}'"),
    );
    expect(ps.stdout.trim().split('\n').sort()).toEqual(['booking ghcr.io/acme/booking:3.2.0', 'frontend ghcr.io/acme/frontend:1.4.2']);
  }
  // A host presenting another key is refused: the check above is a real one.
  await expect(connectPinned(result.hosts[1]!.address, result.ssh.port, hostKey('app-1'))).rejects.toThrow();
  const mounted = await onHost(app1.publicIp, result, hostKey('app-1'), (c) =>
    exec(
      c,
      'mountpoint /mnt/data && blkid -o value -s TYPE /dev/disk/by-id/scsi-0Linode_Volume_stack-e-lon-data && grep -c Linode_Volume /etc/fstab',
    ),
  );
  expect(mounted.stdout).toBe('/mnt/data is a mountpoint\next4\n1\n');
  // The floating address reaches app-1 itself.
  const viaFloating = await onHost(result.reservedIp!, result, hostKey('app-1'), (c) => exec(c, 'hostname'));
  expect(viaFloating.stdout.trim()).toBe('stack-e-lon-app-1');

  // Deploy a release to both instances through the inventory, as `opsflow deploy` does.
  const deployed = await run<DeployResult>(
    'deployRelease',
    'deploy-stack-e-lon-1',
    buildDeployInput({ result, spec: spec() }, { booking: 'ghcr.io/acme/booking:3.3.0' }),
  );
  expect(deployed).toBeDefined();
  for (const host of result.hosts) {
    const ps = await onHost(host.address, result, host.hostKey, (c) =>
      exec(c, "cd /opt/app && docker compose ps --format '{{.Service}} {{.Image}}'"),
    );
    expect(ps.stdout.trim().split('\n').sort()).toEqual(['booking ghcr.io/acme/booking:3.3.0', 'frontend ghcr.io/acme/frontend:1.4.2']);
  }

  const destroyed = await run<Body>('destroyEnvironment', 'destroy-stack-e-lon', { environment, cloud: 'linode' });
  expect(destroyed).toMatchObject({ tag: 'opsflow-env:stack-e-lon', floatingIps: [result.reservedIp], networks: [result.vpcId] });
  expect(await linodeState(environment)).toEqual(nothingLeft);
}, 600_000); // provision, deploy and destroy of two hosts on a loaded machine

test('a failure after the whole infrastructure exists rolls back everything of the Linode site', async () => {
  const failing = spec({
    name: 'stack-e-lon-f',
    bootstrap: { ...example.bootstrap, commands: [['sh', '-c', 'exit 3']] },
  });
  const err = await run('provisionEnvironment', 'provision-stack-e-lon-f', { spec: failing }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolledBack');
  // The bootstrap command failed on a host, and every compensation ran: delete VPC, firewall,
  // instances, volume, detach volume, release the address.
  expect(failure.message).toMatch(/exit.*3.*rolled back 6 step\(s\)/s);
  expect(await linodeState('stack-e-lon-f')).toEqual(nothingLeft);
});
