// rolloutRelease: a canary release on a droplet fleet behind nginx. Canary hosts are taken from the
// fleet (maxUnavailable at a time) and get the new images through the same host steps and health
// gate as deployRelease; nginx on the front host splits real traffic by the spec's weights; the
// spec's analyses measure the canary in Prometheus, one activity per measurement. A failed analysis
// or an abort puts all traffic back on the stable hosts first, then the canary hosts back on the
// stable images, through the saga, and the run ends RolloutAborted naming the metric and its
// values. An inconclusive analysis waits for a human; humans steer with updates (rollout-steering).
// A spec with blueGreen runs blueGreenRollOut (blue-green.ts) under the same claim instead. The
// steps, analyses, updates and saga are the canary engine's (canary-engine.ts); this file gives it
// the droplets' side. A spec with traffic.httpRoute gives it a Kubernetes side (kubernetes-rollout.ts).
//
// With maxSurge (patch `rollout-surge-droplets`), the canary runs on surge droplets made beside the
// fleet (surge-droplets.ts) instead of fleet hosts: created, bootstrapped and given the canary
// images after the take-over, judged by the same steps; once every step passed the fleet's hosts
// change a batch at a time while the surge droplets carry the traffic, and the surge droplets are
// drained (weight 0), kept scaleDownDelay, and destroyed. On an abort the saga puts traffic back
// on the fleet, then destroys them the same way.
import { patched, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import { DEFAULT_PROVIDER, type CloudProviderActivities } from '../../providers/cloud-provider';
import { fleetMembership, LoadBalancerMembershipRouter, takeInMs } from '../../rollouts/traffic/membership-router';
import { providerTaskQueue } from '../../temporal/task-queues';
import { CLOUD_CALL, CLOUD_RETRY } from '../shared/cloud-activity-options';
import { failure, STEP_FAILURE } from '../shared/failures';
import { summarizedActivities } from '../shared/summarized-activities';
import { fleetGroup, parseRolloutReleaseInput } from '../../specs/rollout-release';
import { isKubernetesRolloutInput, type KubernetesRolloutInput } from '../../specs/kubernetes-rollout';
import { durationMs } from '../../specs/rollout';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { withEnvironmentClaim } from '../shared/environment-claim';
import { refuse, validated } from '../shared/validated';
import type { Inventory } from '../environment/inventory';
import { blueGreenRollOut, PREVIEW_DROPLETS_PATCH } from './blue-green';
import { runCanary, type CanaryPlan } from './canary-engine';
import { hostTargets, type Images } from './deploy-release';
import { sameImagesEverywhere } from './fleet-version';
import { rollOutOnKubernetes } from './kubernetes-rollout';
import type { RolloutReleaseInput, RolloutResult } from './rollout-api';
import { RolloutFleet } from './rollout-fleet';
import { SurgeDroplets } from './surge-droplets';

/** Runs started before surge droplets were built refused maxSurge above 0; they replay that way. */
export const SURGE_PATCH = 'rollout-surge-droplets';

export async function rolloutRelease(input: RolloutReleaseInput | KubernetesRolloutInput): Promise<RolloutResult> {
  // A canary on Kubernetes (traffic.httpRoute): its own input, the same engine (kubernetes-rollout.ts).
  if (isKubernetesRolloutInput(input)) return rollOutOnKubernetes(input);
  // Bad input is refused before the claim; the rollout runs while this run holds the environment.
  const { release, spec, surge, preview } = validated('input', parseRolloutReleaseInput, input);
  // Runs from before membership weighting refused it here, before any command; they replay so.
  if (spec.traffic.loadBalancerMembership && !patched('rollout-lb-membership'))
    refuse(
      'input',
      'spec.traffic.loadBalancerMembership',
      'weighting by load balancer membership is not built yet (the provider seam has no membership call); use traffic.nginx',
    );
  if (surge > 0 && !patched(SURGE_PATCH))
    refuse(
      'input',
      'spec.canary.maxSurge',
      `is ${spec.canary!.maxSurge}, but surge hosts are not built yet: set maxSurge: 0 and maxUnavailable of 1 or more, so canary hosts are taken from the fleet`,
    );
  if (preview > 0 && !patched(PREVIEW_DROPLETS_PATCH))
    refuse(
      'input',
      'spec.blueGreen.previewFleet.create',
      `is ${preview}, but preview droplets are not built yet: take the preview from fleet hosts out of rotation (previewFleet.size)`,
    );
  // One engine, two strategies: blue-green shares the steering, analysis, traffic and host steps.
  const run = (inventory?: Inventory) => (spec.blueGreen ? blueGreenRollOut(input, inventory) : rollOut(input, inventory));
  return withEnvironmentClaim(release.environment, 'rollout', run, {
    change: (result) => ({ kind: 'deployed', images: result.images }),
  });
}

async function rollOut(input: RolloutReleaseInput, inventory?: Inventory): Promise<RolloutResult> {
  const parsed = validated('input', parseRolloutReleaseInput, input);
  const { release, spec, requestedBy, fleet: fleetNames, batchSize, environmentSpec } = parsed;
  const canary = spec.canary!;
  const nginx = spec.traffic.nginx;
  const lbSpec = spec.traffic.loadBalancerMembership;
  const checks = release.healthChecks.map((check) => ({ ...check, attempts: release.consecutiveFailures ?? check.attempts }));
  // The engine's change notice, once it runs (the surge droplets' views change before that too).
  let notify = () => {};
  // The canary's droplets beside the fleet, when the spec sets maxSurge (rolloutRelease checked the patch).
  const surge =
    parsed.surge > 0
      ? new SurgeDroplets({
          environment: environmentSpec!,
          group: fleetGroup(environmentSpec!, fleetNames)!,
          count: parsed.surge,
          networkId: inventory?.resources.vpcId,
          directory: release.directory,
          checks,
          canaryImages: release.images,
          changed: () => notify(),
        })
      : undefined;
  const surgeSteps = surge && {
    create: `create ${surge.described}`,
    bootstrap: `bootstrap ${surge.described}`,
    deploy: `deploy the canary to ${surge.described}`,
    drain: `drain ${surge.described}`,
    destroy: `destroy ${surge.described}`,
  };
  const plan: CanaryPlan = {
    environment: release.environment,
    requestedBy,
    spec,
    canaryImages: release.images,
    prepareSteps: surgeSteps ? [surgeSteps.create, surgeSteps.bootstrap, surgeSteps.deploy] : [],
    finishSteps: surgeSteps ? [surgeSteps.drain, surgeSteps.destroy] : [],
    view: { stableHosts: [...fleetNames], ...(surge ? { surge: surge.views } : {}) },
  };
  return runCanary(plan, async ({ status, view, changed, step, fail, throwIfAborted }) => {
    notify = changed;
    step('validate input');
    upsertSearchAttributes([
      { key: OpsEnvironment, value: release.environment },
      { key: OpsOperation, value: 'rollout' },
    ]);
    const targets = hostTargets(release);
    const byName = (instance: string) => targets.find((t) => t.instance === instance)!;
    const fleetTargets = fleetNames.map(byName);
    if (surge && environmentSpec!.vpc && !inventory?.resources.vpcId)
      refuse(
        'input',
        'environmentSpec.vpc',
        `is set, but the inventory of ${release.environment} records no VPC id, so a surge droplet could not join the fleet's network (see opsflow env show ${release.environment})`,
      );

    step('record running images');
    let stableImages: Images;
    try {
      stableImages = await sameImagesEverywhere(fleetTargets, release.directory, Object.keys(release.images));
    } catch (err) {
      return fail(err);
    }
    // Membership weighting: the load balancer read once (its members saved for the abort to put back),
    // refused by name if it cannot work, before anything changes.
    let membership: LoadBalancerMembershipRouter | undefined;
    let savedMembers: number[] = [];
    if (lbSpec) {
      const provider = summarizedActivities<CloudProviderActivities>({
        ...CLOUD_CALL,
        startToCloseTimeout: '2 minutes',
        taskQueue: providerTaskQueue(DEFAULT_PROVIDER),
        retry: CLOUD_RETRY,
      });
      let lb;
      try {
        lb = await provider.readLoadBalancer({ loadBalancer: lbSpec.loadBalancer });
      } catch (err) {
        return fail(err);
      }
      const { ids, problems } = fleetMembership(lb, fleetTargets, spec.fleet.port);
      if (problems.length) {
        const message = `cannot weight by the membership of load balancer ${lb.name}: ${problems.join('; ')}`;
        status.failed(message);
        changed();
        throw failure(STEP_FAILURE.TrafficRefused, message);
      }
      savedMembers = lb.members.map((m) => m.id);
      view.loadBalancer = { name: lb.name, ip: lb.ip, savedMembers: lb.members.map((m) => m.name || String(m.id)) };
      membership = new LoadBalancerMembershipRouter({
        loadBalancer: { setMembers: async (members) => void (await provider.setLoadBalancerMembers({ loadBalancerId: lb.id, members })) },
        ids,
        members: savedMembers,
        takeInMs: takeInMs(lb),
        drainMs: durationMs(lbSpec.drain),
        wait: async (ms, why) => {
          if (ms > 0) await sleep(ms, { summary: why });
        },
      });
    }
    const hosts = new RolloutFleet({
      fleet: fleetTargets,
      ...(nginx
        ? {
            front: byName(nginx.frontHost),
            upstream: nginx.upstream,
            upstreamFile: `${nginx.configDir}/${nginx.upstream}.conf`,
            pidFile: nginx.pidFile,
          }
        : { membership }),
      port: spec.fleet.port,
      directory: release.directory,
      checks,
      stableImages,
      canaryImages: release.images,
      batchSize,
      ...(surge ? { surge: true } : {}),
      changed,
    });

    let restored: string[] = [];
    let destroyed: string[] = [];
    /**
     * The surge droplets drained (no weight on them: out of the upstream first if they still had
     * some, which only other canary hosts can take over), kept scaleDownDelay so requests under way
     * finish, out of the upstream, then deleted by the rollout's tag. No step names during a
     * rollback: the status keeps the step the rollback interrupted.
     */
    const drainAndDestroy = async (during: 'rollback' | 'completion') => {
      if (hosts.surge.length > 0) {
        if (during === 'completion') step(surgeSteps!.drain);
        if (hosts.surgeCarriesTraffic) await hosts.removeSurge();
        const delay = durationMs(canary.scaleDownDelay);
        surge!.draining(new Date(Date.now() + delay).toISOString());
        await sleep(delay);
      }
      if (during === 'completion') step(surgeSteps!.destroy);
      await hosts.removeSurge();
      await surge!.destroy();
      destroyed = surge!.views.map((v) => v.name);
      if (during === 'completion') status.forgetResource('surge droplet', surge!.tag);
    };
    return {
      traffic: hosts,
      stableImages,
      undo: [
        // Oldest, so last on rollback: the fleet serves again before the surge droplets go.
        // Registered before the create: the delete by tag is safe when nothing was made, and it
        // also catches a droplet whose create answer was lost.
        ...(surge ? [{ name: 'destroy surge droplets', run: () => drainAndDestroy('rollback') }] : []),
        {
          name: 'canary hosts back to the stable images',
          run: async () => {
            restored = await hosts.restoreCanaries();
            // The load balancer's members exactly as they were before the rollout's first change.
            await membership?.restore(savedMembers);
          },
        },
      ],
      prepare: async () => {
        if (!surge || !surgeSteps) return;
        step(surgeSteps.create);
        status.recordResource({ kind: 'surge droplet', id: surge.tag, name: surge.views.map((v) => v.name).join(', ') });
        await surge.create();
        throwIfAborted();
        step(surgeSteps.bootstrap);
        await surge.bootstrap();
        throwIfAborted();
        step(surgeSteps.deploy);
        await surge.deploy(fleetTargets[0]!);
        // On the upstream's canary side from the first weight on; no fleet host leaves rotation.
        hosts.addSurge(surge.targets);
      },
      finish: async () => {
        if (surge) await drainAndDestroy('completion');
      },
      result: () => ({ hosts: fleetNames, ...(surge ? { surgeDestroyed: destroyed } : {}) }),
      aborted: () => ({ hostsRestored: restored, ...(surge ? { surgeDestroyed: destroyed } : {}) }),
      undone: () =>
        `${restored.length ? `${restored.join(', ')} run${restored.length === 1 ? 's' : ''} it again` : 'no host had changed'}${destroyed.length ? `; ${destroyed.join(', ')} destroyed` : ''}`,
      checkByHand: `${nginx ? `nginx on ${nginx.frontHost}` : `load balancer ${lbSpec!.loadBalancer}`} and the hosts`,
      rollbackDetails: () => ({ restored, ...(surge ? { destroyed } : {}) }),
    };
  });
}
