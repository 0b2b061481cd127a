// rolloutRelease: a canary release on a droplet fleet behind nginx. Canary hosts are taken from the
// fleet (maxUnavailable at a time) and get the new images through the same host steps and health
// gate as deployRelease; nginx on the front host splits real traffic by the spec's weights; the
// spec's analyses measure the canary in Prometheus, one activity per measurement. A failed analysis
// or an abort puts all traffic back on the stable hosts first, then the canary hosts back on the
// stable images, through the saga, and the run ends RolloutAborted naming the metric and its
// values. An inconclusive analysis waits for a human; humans steer with updates (rollout-steering).
// A spec with blueGreen runs blueGreenRollOut (blue-green.ts) under the same claim instead.
//
// With maxSurge (patch `rollout-surge-droplets`), the canary runs on surge droplets made beside the
// fleet (surge-droplets.ts) instead of fleet hosts: created, bootstrapped and given the canary
// images after the take-over, judged by the same steps; once every step passed the fleet's hosts
// change a batch at a time while the surge droplets carry the traffic, and the surge droplets are
// drained (weight 0), kept scaleDownDelay, and destroyed. On an abort the saga puts traffic back
// on the fleet, then destroys them the same way.
import { isCancellation, patched, setCurrentDetails, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import { DEFAULT_PROVIDER, type CloudProviderActivities } from '../../providers/cloud-provider';
import { fleetMembership, LoadBalancerMembershipRouter, takeInMs } from '../../rollouts/traffic/membership-router';
import { providerTaskQueue } from '../../temporal/task-queues';
import { CLOUD_CALL, CLOUD_RETRY } from '../shared/cloud-activity-options';
import { failure, STEP_FAILURE } from '../shared/failures';
import { summarizedActivities } from '../shared/summarized-activities';
import { fleetGroup, parseRolloutReleaseInput } from '../../specs/rollout-release';
import { durationMs, type CanaryStep } from '../../specs/rollout';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { describeError, runSaga } from '../shared/saga';
import { withEnvironmentClaim } from '../shared/environment-claim';
import { StatusTracker } from '../shared/status';
import { finalLine } from '../shared/status-outcome';
import { refuse, validated } from '../shared/validated';
import type { Inventory } from '../environment/inventory';
import { blueGreenRollOut } from './blue-green';
import { describeImages, hostTargets, type Images } from './deploy-release';
import { sameImagesEverywhere } from './fleet-version';
import { analysisView, runRolloutAnalysis, type AnalysisOutcome } from './rollout-analysis';
import { rolloutStatusQuery, type RolloutReleaseInput, type RolloutResult, type RolloutView } from './rollout-api';
import { asRolloutAborted } from './rollout-aborted';
import { RolloutFleet } from './rollout-fleet';
import { sendEscalationNotice } from './rollout-notice';
import { RolloutSteering } from './rollout-steering';
import { describeStep, describeView, imageTag } from './rollout-words';
import { SurgeDroplets } from './surge-droplets';

/** Runs started before surge droplets were built refused maxSurge above 0; they replay that way. */
export const SURGE_PATCH = 'rollout-surge-droplets';

export async function rolloutRelease(input: RolloutReleaseInput): Promise<RolloutResult> {
  // Bad input is refused before the claim; the rollout runs while this run holds the environment.
  const { release, spec, surge } = validated('input', parseRolloutReleaseInput, input);
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
  // One engine, two strategies: blue-green shares the steering, analysis, traffic and host steps.
  const run = (inventory?: Inventory) => (spec.blueGreen ? blueGreenRollOut(input) : rollOut(input, inventory));
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
  const stepNames = canary.steps.map((step, i) => `step ${i + 1}/${canary.steps.length}: ${describeStep(step)}`);
  const checks = release.healthChecks.map((check) => ({ ...check, attempts: release.consecutiveFailures ?? check.attempts }));
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
          changed: () => changed(),
        })
      : undefined;
  const surgeSteps = surge && {
    create: `create ${surge.described}`,
    bootstrap: `bootstrap ${surge.described}`,
    deploy: `deploy the canary to ${surge.described}`,
    drain: `drain ${surge.described}`,
    destroy: `destroy ${surge.described}`,
  };
  const status = new StatusTracker('rolloutRelease', [
    'validate input',
    'record running images',
    'take over traffic',
    ...(surgeSteps ? [surgeSteps.create, surgeSteps.bootstrap, surgeSteps.deploy] : []),
    ...stepNames,
    'complete',
    ...(surgeSteps ? [surgeSteps.drain, surgeSteps.destroy] : []),
  ]);
  const view: RolloutView = {
    strategy: 'canary',
    phase: 'starting',
    requestedBy,
    stableImages: {},
    canaryImages: release.images,
    weight: { asked: { stable: 100, canary: 0 }, effective: { stable: 100, canary: 0 } },
    stepIndex: 0,
    stepCount: canary.steps.length,
    canaryHosts: [],
    stableHosts: [...fleetNames],
    ...(surge ? { surge: surge.views } : {}),
    analyses: [],
    updates: [],
  };
  // Set once the running images are known; the status reads the hosts and weights from it.
  const live: { fleet?: RolloutFleet } = {};
  const changed = () => {
    if (live.fleet) {
      view.weight = {
        asked: { ...live.fleet.weights },
        effective: { ...live.fleet.effective },
        ...(live.fleet.note ? { note: live.fleet.note } : {}),
      };
      view.canaryHosts = live.fleet.canarySide.map((h) => h.instance);
      view.stableHosts = live.fleet.stable.map((h) => h.instance);
    }
    const snapshot = status.snapshot();
    const head = snapshot.outcome ? finalLine(snapshot.outcome) : snapshot.step;
    setCurrentDetails(`**rolloutRelease** ${release.environment}: ${head}\n\n${describeView(view)}`);
  };
  const steering = new RolloutSteering(view, changed);
  setHandler(rolloutStatusQuery, () => ({ ...status.snapshot(), rollout: JSON.parse(JSON.stringify(view)) as RolloutView }));
  steering.register();
  const step = (name: string) => {
    status.step(name);
    changed();
  };

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
    status.failed(describeError(err));
    changed();
    throw err;
  }
  view.stableImages = stableImages;
  const service = Object.keys(release.images)[0]!;
  const builtIn = {
    environment: release.environment,
    'canary-version': imageTag(release.images[service]!),
    'stable-version': imageTag(stableImages[service]!),
  };
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
      status.failed(describeError(err));
      changed();
      throw err;
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
  live.fleet = hosts;

  const analysisRun = (name: string, ref: NonNullable<CanaryStep['analysis']>, stop: () => boolean) => {
    const analysis = analysisView(name, ref);
    view.analyses.push(analysis);
    return runRolloutAnalysis({
      view: analysis,
      address: spec.prometheus!.address,
      ref,
      templates: spec.analysisTemplates,
      builtIn,
      stop: () => steering.aborting || stop(),
      changed,
    });
  };
  const abortOn = (outcome: AnalysisOutcome, where: string) =>
    steering.requestAbort({ reason: `${where} ${outcome.phase}: ${outcome.reason}`, metric: outcome.metric, values: outcome.values });

  // Background analysis: from its starting step until the steps are done; a failure aborts at once,
  // an inconclusive result holds the rollout for a human at the next step.
  let background: Promise<void> | undefined;
  let backgroundDone = false;
  let backgroundHold: string | undefined;
  const startBackground = () => {
    background = analysisRun('background', canary.analysis!, () => backgroundDone).then((outcome) => {
      if (outcome.phase === 'failed' || outcome.phase === 'error') abortOn(outcome, 'background analysis');
      else if (outcome.phase === 'inconclusive') backgroundHold = `background analysis inconclusive: ${outcome.reason}`;
    });
  };

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
  try {
    return await runSaga(
      async (saga) => {
        // Oldest, so last on rollback: the fleet serves again before the surge droplets go.
        // Registered before the create: the delete by tag is safe when nothing was made, and it
        // also catches a droplet whose create answer was lost.
        if (surge) saga.addCompensation('destroy surge droplets', () => drainAndDestroy('rollback'));
        // Newest first on rollback: traffic to stable before any host changes back.
        saga.addCompensation('canary hosts back to the stable images', async () => {
          restored = await hosts.restoreCanaries();
          // The load balancer's members exactly as they were before the rollout's first change.
          await membership?.restore(savedMembers);
        });
        saga.addCompensation('all traffic to the stable version', () => hosts.trafficToStable());

        step('take over traffic');
        await hosts.route({ stable: 100, canary: 0 });
        view.phase = 'progressing';

        if (surge && surgeSteps) {
          step(surgeSteps.create);
          status.recordResource({ kind: 'surge droplet', id: surge.tag, name: surge.views.map((v) => v.name).join(', ') });
          await surge.create();
          steering.throwIfAborted();
          step(surgeSteps.bootstrap);
          await surge.bootstrap();
          steering.throwIfAborted();
          step(surgeSteps.deploy);
          await surge.deploy(fleetTargets[0]!);
          // On the upstream's canary side from the first weight on; no fleet host leaves rotation.
          hosts.addSurge(surge.targets);
        }

        for (let i = 0; i < canary.steps.length && !steering.promotedFull; i++) {
          if (canary.analysis && canary.analysis.startingStep === i) startBackground();
          await steering.holdWhilePaused();
          if (backgroundHold) {
            const why = backgroundHold;
            backgroundHold = undefined;
            if ((await steering.waitForHuman(why)) === 'promoted' && !steering.promotedFull) startBackground();
          }
          steering.throwIfAborted();
          if (steering.promotedFull) break;
          const current = canary.steps[i]!;
          view.stepIndex = i;
          view.step = { index: i, kind: stepKind(current), detail: describeStep(current) };
          step(stepNames[i]!);
          await runStep(i, current);
          steering.throwIfAborted();
        }

        view.phase = 'completing';
        view.stepIndex = canary.steps.length;
        view.step = undefined;
        step('complete');
        backgroundDone = true;
        await background;
        steering.throwIfAborted();
        await hosts.complete();
        if (surge) await drainAndDestroy('completion');
        view.phase = 'completed';
        status.finish('done');
        changed();
        return {
          environment: release.environment,
          images: release.images,
          previousImages: stableImages,
          hosts: fleetNames,
          ...(surge ? { surgeDestroyed: destroyed } : {}),
          requestedBy,
          analyses: view.analyses,
          updates: view.updates,
        };
      },
      {
        onRollback: () => {
          view.phase = 'aborting';
          status.finish('rolling back');
          changed();
        },
        onRolledBack: (report, err) => {
          view.phase = 'aborted';
          status.rolledBack(report, isCancellation(err) ? 'cancelled' : describeError(err));
          changed();
        },
        describeRollback: (what, report) => ({
          message:
            report.failed.length > 0
              ? `rollout of ${describeImages(release.images)} stopped (${what}) and putting the stable version back failed: ${report.failed.map((f) => `${f.name}: ${f.error}`).join('; ')}. Check ${nginx ? `nginx on ${nginx.frontHost}` : `load balancer ${lbSpec!.loadBalancer}`} and the hosts by hand.`
              : `rollout of ${describeImages(release.images)} aborted (${what}); all traffic is on ${describeImages(stableImages)} again and ${restored.length ? `${restored.join(', ')} run${restored.length === 1 ? 's' : ''} it again` : 'no host had changed'}${destroyed.length ? `; ${destroyed.join(', ')} destroyed` : ''}`,
          details: {
            failure: what,
            stable: stableImages,
            attempted: release.images,
            restored,
            ...(surge ? { destroyed } : {}),
            rollout: view,
          },
        }),
      },
    );
  } catch (err) {
    throw asRolloutAborted(
      err,
      steering.abortRequest && {
        ...steering.abortRequest,
        weights: hosts.weights,
        hostsRestored: restored,
        ...(surge ? { surgeDestroyed: destroyed } : {}),
      },
    );
  }

  async function runStep(i: number, current: CanaryStep): Promise<void> {
    if (current.setWeight !== undefined) return hosts.setWeight(current.setWeight);
    if (current.pause) {
      const what = `step ${i + 1}: pause`;
      if (current.pause.duration !== undefined) {
        await steering.pauseFor(durationMs(current.pause.duration), `${what} for ${current.pause.duration}`);
        return;
      }
      const escalateAfter = current.pause.escalateAfter;
      await steering.waitForHuman(`${what} until promoted`, escalateAfter ? durationMs(escalateAfter) : undefined, async () => {
        const why = `no one promoted step ${i + 1} within ${escalateAfter}`;
        const onEscalation = current.pause!.onEscalation;
        status.recordResource({ kind: 'escalation', id: `${why}; onEscalation: ${onEscalation}` });
        // The notice is a new command: runs from before it replay without (and had no notify field).
        const notified =
          spec.notify && patched('rollout-escalation-notice')
            ? await sendEscalationNotice(spec.notify.webhook, {
                environment: release.environment,
                what: `${what} until promoted`,
                waitedFor: escalateAfter!,
                onEscalation,
                view,
              })
            : undefined;
        if (notified) status.recordResource({ kind: 'notification', id: notified });
        // A human who promoted while the notice went out has decided: no abort.
        if (onEscalation === 'abort' && !steering.promotedSinceWaiting) steering.requestAbort({ reason: `${why} (onEscalation: abort)` });
        return notified;
      });
      return;
    }
    const outcome = await analysisRun(`step ${i + 1}`, current.analysis!, () => steering.promotedFull);
    if (outcome.phase === 'failed' || outcome.phase === 'error') abortOn(outcome, `step ${i + 1} analysis`);
    else if (outcome.phase === 'inconclusive') await steering.waitForHuman(`step ${i + 1} analysis inconclusive: ${outcome.reason}`);
  }
}

function stepKind(step: CanaryStep): 'setWeight' | 'pause' | 'analysis' {
  return step.setWeight !== undefined ? 'setWeight' : step.pause ? 'pause' : 'analysis';
}
