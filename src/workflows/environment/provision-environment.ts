// provisionEnvironment: the runbook for a new environment, as one durable saga. Each step that
// creates something registers its undo; a failure or a cancellation undoes them newest first, or,
// with `onFailure: keep`, leaves them for inspection and says what exists.
//
// First the infrastructure (network, firewall, servers, volumes, floating IP) through the spec's
// cloud provider (src/providers/cloud-provider.ts, on that provider's queue; the independent
// creates at once, see provision-infrastructure.ts), then the hosts over SSH (mount, bootstrap,
// the compose application) and the health gate.
// Work on hosts needs no undo of its own: rolling back deletes the droplets it happened on.
import { ActivityCancellationType, isCancellation, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Server } from '../../providers/cloud-provider';
import type { Owner } from '../../names/ownership-tags';
import { dropletInstances, parseEnvironmentSpec, type EnvironmentSpec } from '../../specs/environment';
import { OpsCloud, OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { COMPENSATION_RETRY, describeError, runSaga } from '../shared/saga';
import { CLOUD_RETRY, cloudProvider } from '../shared/cloud-activity-options';
import { StatusTracker } from '../shared/status';
import { endsInStatus } from '../shared/ends-in-status';
import { refuse, validated } from '../shared/validated';
import { withEnvironmentClaim } from '../shared/environment-claim';
import type { Inventory } from './inventory';
import { isFreshEnvironment } from './fresh-environment';
import { provisionedChange } from './provisioned-change';
import {
  dropletOf as dropletOfRun,
  infrastructureAtOnce,
  infrastructureOneByOne,
  type InfrastructureRun,
} from './provision-infrastructure';
import { bootstrap, deployApplication, healthGate, mountVolume, waitForSsh, type HostTarget } from './host-steps';
import { checkSpecSecrets } from './secrets-preflight';

export interface ProvisionInput {
  spec: EnvironmentSpec;
  /** Fingerprints of more account SSH keys to install on the droplets (never the keys themselves). */
  sshKeyFingerprints?: string[];
}

export interface ProvisionedHost {
  instance: string;
  dropletId: number;
  address: string;
  privateAddress: string;
  /** The host key fingerprint pinned on first contact (or the spec's). */
  hostKey: string;
}

export interface ProvisionResult {
  environment: string;
  vpcId?: string;
  firewallId?: string;
  droplets: Server[];
  volumes: { name: string; id: string; droplet: string; device?: string; mountPoint: string }[];
  reservedIp?: string;
  /** How to reach the hosts again (deployRelease, backups): user, port and the key's name. */
  ssh: { user: string; port: number; key: string };
  hosts: ProvisionedHost[];
  /** Where the compose application lives on every host, and the images it runs. */
  application?: { directory: string; images: Record<string, string> };
  /** Health URLs that passed the gate. */
  urls: string[];
}

const STEPS = [
  'validate spec',
  'register SSH key',
  'create VPC',
  'create firewall',
  'create droplets',
  'wait for droplets',
  'create volumes',
  'assign reserved IP',
  'wait for SSH',
  'mount volumes',
  'bootstrap',
  'deploy application',
  'health gate',
];

export async function provisionEnvironment(input: ProvisionInput): Promise<ProvisionResult> {
  // From the first line, so a run refused before its saga (spec, busy environment, secrets) ends "failed" with the reason.
  const status = new StatusTracker('provisionEnvironment', STEPS);
  return endsInStatus(status, () => {
    status.step('validate spec');
    // A bad spec is refused before the claim; the runbook runs while this run holds the environment.
    const spec = validatedSpec(input.spec);
    return withEnvironmentClaim(spec.name, 'provision', (inventory) => provisionClaimed(input, spec, status, inventory), {
      change: (result) => provisionedChange(spec, result),
    });
  });
}

async function provisionClaimed(
  input: ProvisionInput,
  spec: EnvironmentSpec,
  status: StatusTracker,
  inventory: Inventory | undefined,
): Promise<ProvisionResult> {
  status.answerQueries(); // the claim answered `status` while it waited
  upsertSearchAttributes([
    { key: OpsEnvironment, value: spec.name },
    { key: OpsOperation, value: 'provision' },
    { key: OpsCloud, value: spec.cloud },
  ]);
  // Every secret the spec references, checked on the worker before anything reaches the cloud.
  await checkSpecSecrets(spec);
  // On cancellation a create step in flight is waited for, not abandoned: the cloud may still carry
  // its request out, and only a result that reaches the workflow gets its undo registered.
  const cloud = cloudProvider(spec.cloud, { retry: CLOUD_RETRY, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED });
  const undo = cloudProvider(spec.cloud, { retry: COMPENSATION_RETRY });
  const owner: Owner = { workflowId: workflowInfo().workflowId, environment: spec.name };
  const result: ProvisionResult = {
    environment: spec.name,
    droplets: [],
    volumes: [],
    ssh: { user: spec.ssh.user, port: spec.ssh.port, key: spec.ssh.key },
    hosts: [],
    urls: [],
  };

  return runSaga(
    async (saga) => {
      // Runs recorded before issue 17 made their creates one after another, each looking first.
      const infrastructure: InfrastructureRun = { input, spec, owner, cloud, undo, saga, status, result };
      if (patched('provision-at-once')) await infrastructureAtOnce(infrastructure, isFreshEnvironment(inventory, workflowInfo()));
      else await infrastructureOneByOne(infrastructure);
      const dropletOf = (instance: string) => dropletOfRun(infrastructure, instance);

      status.step('wait for SSH');
      const instances = dropletInstances(spec).map((i) => i.instance);
      const targets = await Promise.all(instances.map((instance) => waitForSsh(spec, instance, dropletOf(instance).publicIp)));
      const targetOf = (instance: string) => targets.find((t) => t.instance === instance) as HostTarget;
      result.hosts = targets.map((t) => {
        const droplet = dropletOf(t.instance);
        return {
          instance: t.instance,
          dropletId: droplet.id,
          address: droplet.publicIp,
          privateAddress: droplet.privateIp,
          hostKey: t.fingerprints[0]!,
        };
      });

      if (spec.volumes.length > 0) status.step('mount volumes');
      for (const [i, volumeSpec] of spec.volumes.entries()) {
        const volume = result.volumes[i]!;
        await mountVolume(targetOf(volumeSpec.droplet), volume.name, volume.device as string, volumeSpec.filesystem, volumeSpec.mountPoint);
      }

      status.step('bootstrap');
      await Promise.all(targets.map((target) => bootstrap(target, spec.bootstrap)));

      if (spec.application) {
        status.step('deploy application');
        const app = spec.application;
        await Promise.all(targets.map((target) => deployApplication(target, app)));
        result.application = { directory: app.directory, images: app.images };
      }

      if (spec.healthChecks.length > 0) {
        status.step('health gate');
        result.urls = (await Promise.all(targets.map((target) => healthGate(target.host, spec.healthChecks)))).flat();
      }

      status.finish('done');
      return result;
    },
    {
      rollbackOnFailure: spec.onFailure === 'rollback',
      onRollback: () => status.finish('rolling back'),
      onKept: (kept, err) => status.keptForInspection(kept, describeError(err)),
      onRolledBack: (report, err) => status.rolledBack(report, isCancellation(err) ? 'cancelled' : describeError(err)),
    },
  );
}

/** Rule 7: the same schema again at workflow start; a bad spec fails before any side effect. */
function validatedSpec(input: EnvironmentSpec): EnvironmentSpec {
  const spec = validated('spec', parseEnvironmentSpec, input);
  // The opsflow CLI inlines composeFile; a start from the temporal CLI must do the same.
  if (spec.application && spec.application.compose === undefined) {
    refuse(
      'spec',
      'application.compose',
      'the workflow needs the compose file itself, not only composeFile (opsflow provision inlines it; with the temporal CLI put its text in application.compose)',
    );
  }
  return spec;
}
