// rolloutRelease with a blueGreen spec (Argo Rollouts' blueGreen on a droplet fleet behind nginx).
// The hosts nginx serves are the active (blue) fleet; the preview (green) fleet, out of rotation,
// gets the new images through deployRelease's host steps and health gate. It gets no production
// traffic before the switch: the pre-promotion analysis measures whatever test traffic reaches
// the preview hosts directly (their address:port is in the status), and no traffic at all is
// inconclusive, which waits for a human. Promotion (automatic, or the `promote` update) switches
// nginx to the preview in one reload; the post-promotion analysis then runs on live traffic. Until
// scaleDownDelay after it passed, the old fleet stays warm: a failure or an abort switches traffic
// straight back, with no host redeployed. Then the old fleet leaves rotation for good, keeping the
// old version, and is the next rollout's preview.
//
// With previewFleet.create (patch `rollout-blue-green-preview-droplets`, for a fleet that cannot
// spare a host, such as stack C's one droplet) the preview is droplets made for the rollout as
// surge droplets are (surge-droplets.ts, role `preview`): created, bootstrapped, given the compose
// application with the new images and gated, then put in nginx's upstream as the green side, out of
// rotation until the switch. After scaleDownDelay the old fleet gets the new images while the
// preview carries the traffic, takes the traffic back, and the preview drains (previewFleet.drain)
// and is destroyed: the environment keeps its shape. An abort or a failure switches back in one
// reload (an old host already given the new images is put back first), then the saga drains and
// destroys the preview droplets.
import { sleep, upsertSearchAttributes } from '@temporalio/workflow';
import { BlueGreenFleetError, chooseBlueGreenFleets } from '../../rollouts/blue-green-fleets';
import { fleetGroup, parseRolloutReleaseInput } from '../../specs/rollout-release';
import { durationMs } from '../../specs/rollout';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { failure, STEP_FAILURE } from '../shared/failures';
import { runSaga } from '../shared/saga';
import { refuse, validated } from '../shared/validated';
import type { Inventory } from '../environment/inventory';
import { BlueGreenFleet, serversNginxServes } from './blue-green-fleet';
import { blueGreenGates, startBlueGreenRun } from './blue-green-run';
import { describeImages, hostTargets, type Images } from './deploy-release';
import { sameImagesEverywhere } from './fleet-version';
import { asRolloutAborted } from './rollout-aborted';
import type { RolloutReleaseInput, RolloutResult } from './rollout-api';
import { rolloutSagaPhases } from './rollout-saga-phases';
import type { SplitSetup } from './rollout-fleet';
import { imageTag } from './rollout-words';
import { SurgeDroplets } from './surge-droplets';

/** Runs started before preview droplets were built refused previewFleet.create; they replay that way. */
export const PREVIEW_DROPLETS_PATCH = 'rollout-blue-green-preview-droplets';

const STEPS = [
  'validate input',
  'find the active fleet',
  'record running images',
  'take the preview out of rotation',
  'deploy the preview',
  'pre-promotion analysis',
  'promote',
  'post-promotion analysis',
  'keep the old fleet warm',
  'scale down the old fleet',
];

/** The steps when the preview is droplets made for the rollout (`created` names them, `fleet` the old fleet). */
function createdPreviewSteps(created: string, fleet: string) {
  return {
    create: `create ${created}`,
    bootstrap: `bootstrap ${created}`,
    deploy: 'deploy the preview',
    listed: 'put the preview in the upstream, out of rotation',
    update: `deploy the new version to ${fleet}`,
    returnTo: `switch traffic back to ${fleet}`,
    destroy: `destroy ${created}`,
  };
}

export async function blueGreenRollOut(input: RolloutReleaseInput, inventory?: Inventory): Promise<RolloutResult> {
  const parsed = validated('input', parseRolloutReleaseInput, input);
  const { release, spec, requestedBy, fleet: fleetNames, environmentSpec } = parsed;
  const blueGreen = spec.blueGreen!;
  const nginx = spec.traffic.nginx!;
  const checks = release.healthChecks.map((check) => ({ ...check, attempts: release.consecutiveFailures ?? check.attempts }));
  // Preview droplets made for the rollout, when the spec asks (rolloutRelease checked the patch).
  const created =
    parsed.preview > 0
      ? new SurgeDroplets({
          role: 'preview',
          environment: environmentSpec!,
          group: fleetGroup(environmentSpec!, fleetNames)!,
          count: parsed.preview,
          networkId: inventory?.resources.vpcId,
          directory: release.directory,
          checks,
          canaryImages: release.images,
          changed: () => changed(),
        })
      : undefined;
  const createdSteps = created && createdPreviewSteps(created.described, fleetNames.join(', '));
  const steps = createdSteps
    ? [
        'validate input',
        'find the active fleet',
        'record running images',
        createdSteps.create,
        createdSteps.bootstrap,
        createdSteps.deploy,
        createdSteps.listed,
        'pre-promotion analysis',
        'promote',
        'post-promotion analysis',
        'keep the old fleet warm',
        createdSteps.update,
        createdSteps.returnTo,
        createdSteps.destroy,
      ]
    : STEPS;
  const { status, view, live, changed, steering, step, failStep, finished } = startBlueGreenRun({
    environment: release.environment,
    requestedBy,
    images: release.images,
    steps,
    heading: '(blue-green)',
  });

  step('validate input');
  upsertSearchAttributes([
    { key: OpsEnvironment, value: release.environment },
    { key: OpsOperation, value: 'rollout' },
  ]);
  const targets = hostTargets(release);
  const byName = (instance: string) => targets.find((t) => t.instance === instance)!;
  if (created && environmentSpec!.vpc && !inventory?.resources.vpcId)
    refuse(
      'input',
      'environmentSpec.vpc',
      `is set, but the inventory of ${release.environment} records no VPC id, so a preview droplet could not join the fleet's network (see opsflow env show ${release.environment})`,
    );
  const split: SplitSetup = {
    front: byName(nginx.frontHost),
    port: spec.fleet.port,
    upstream: nginx.upstream,
    upstreamFile: `${nginx.configDir}/${nginx.upstream}.conf`,
    pidFile: nginx.pidFile,
  };

  step('find the active fleet');
  let fleets;
  try {
    const serving = await serversNginxServes(split);
    const hosts = fleetNames.map((instance) => ({ instance, server: `${byName(instance).host}:${spec.fleet.port}` }));
    fleets = chooseBlueGreenFleets(hosts, serving, blueGreen.previewFleet.size, created !== undefined);
  } catch (err) {
    failStep(err instanceof BlueGreenFleetError ? failure(STEP_FAILURE.TrafficRefused, `${err.message}; nothing was changed`) : err);
  }
  const { active } = fleets!;
  const preview = created ? created.views.map((v) => v.instance) : fleets!.preview;
  view.stableHosts = active;
  view.canaryHosts = preview;
  view.blueGreen = {
    activeHosts: active,
    previewHosts: preview,
    // Created droplets' addresses are known once they are active.
    previewServers: created ? [] : preview.map((instance) => `${byName(instance).host}:${spec.fleet.port}`),
    serving: 'active',
    ...(created ? { previewDroplets: created.views } : {}),
  };

  step('record running images');
  let activeImages: Images;
  try {
    activeImages = await sameImagesEverywhere(active.map(byName), release.directory, Object.keys(release.images));
  } catch (err) {
    return failStep(err);
  }
  view.stableImages = activeImages;
  const service = Object.keys(release.images)[0]!;
  const builtIn = {
    environment: release.environment,
    'canary-version': imageTag(release.images[service]!),
    'stable-version': imageTag(activeImages[service]!),
  };
  const fleet = new BlueGreenFleet({
    split,
    active: active.map(byName),
    preview: created ? [] : preview.map(byName),
    directory: release.directory,
    checks,
    previewImages: release.images,
    changed,
  });
  live.side = fleet;

  const gates = blueGreenGates({ view, steering, changed, spec, builtIn });

  let switchedBack = false;
  let restored: string[] = [];
  let destroyed: string[] = [];
  /**
   * Created preview droplets leave: once no traffic is on them, listed `down` for previewFleet.drain
   * so requests under way finish, then out of the upstream, then deleted by the rollout's tag. No
   * step names during a rollback: the status keeps the step the rollback interrupted.
   */
  const drainAndDestroy = async (during: 'rollback' | 'completion') => {
    if (during === 'completion') step(createdSteps!.destroy);
    if (fleet.previewListed) {
      const delay = durationMs(blueGreen.previewFleet.drain);
      created!.mark('draining', { until: new Date(Date.now() + delay).toISOString() });
      if (delay > 0) await sleep(delay, { summary: `drain ${created!.described}` });
      await fleet.removePreview();
    }
    await created!.destroy();
    destroyed = created!.views.map((v) => v.name);
    if (during === 'completion') status.forgetResource('preview droplet', created!.tag);
  };
  try {
    return await runSaga(
      async (saga) => {
        // Oldest, so last on rollback: traffic is back on the fleet before the preview droplets go.
        // Registered before the create: the delete by tag is safe when nothing was made, and also
        // catches a droplet whose create answer was lost.
        if (created) saga.addCompensation('destroy preview droplets', () => drainAndDestroy('rollback'));
        // The only other undo: traffic back to the old fleet, which never changed (or, with created
        // droplets at the very end, is put back on its images first). Taken from the fleet, the
        // preview keeps the new version out of rotation (nothing is redeployed on an abort).
        saga.addCompensation('all traffic back to the old fleet', async () => {
          restored = await fleet.restoreActive(activeImages);
          switchedBack = await fleet.switchBack();
          if (switchedBack) view.blueGreen!.switchedBackAt = new Date().toISOString();
        });

        if (created && createdSteps) {
          view.phase = 'progressing';
          step(createdSteps.create);
          status.recordResource({ kind: 'preview droplet', id: created.tag, name: created.views.map((v) => v.name).join(', ') });
          await created.create();
          view.blueGreen!.previewServers = created.views.map((v) => `${v.address}:${spec.fleet.port}`);
          steering.throwIfAborted();
          step(createdSteps.bootstrap);
          await created.bootstrap();
          steering.throwIfAborted();
          step(createdSteps.deploy);
          await created.deploy(fleet.active[0]!);
          fleet.setPreview(created.targets);
          steering.throwIfAborted();
          step(createdSteps.listed);
          await fleet.previewOutOfRotation();
        } else {
          step('take the preview out of rotation');
          await fleet.previewOutOfRotation();
          view.phase = 'progressing';

          step('deploy the preview');
          await fleet.deployPreview();
        }

        step('pre-promotion analysis');
        const decided = await gates.prePromotion();

        step('promote');
        await gates.promotion(decided, preview, release.images);
        await fleet.switchToPreview();
        view.blueGreen!.switchedAt = new Date().toISOString();
        created?.mark('serving');
        changed();

        step('post-promotion analysis');
        await gates.postPromotion();

        step('keep the old fleet warm');
        await gates.keepWarm(active);

        view.phase = 'completing';
        if (created && createdSteps) {
          // The environment keeps its shape: the fleet gets the new version while the preview
          // carries the traffic, takes it back, and the preview droplets go.
          step(createdSteps.update);
          await fleet.updateActive();
          step(createdSteps.returnTo);
          await fleet.returnToActive();
          created.mark('ready');
          view.blueGreen!.returnedToFleetAt = new Date().toISOString();
          await drainAndDestroy('completion');
        } else {
          step('scale down the old fleet');
          await fleet.scaleDownOld();
        }
        return finished({
          images: release.images,
          previousImages: activeImages,
          hosts: created ? active : preview,
          ...(created ? { previewDestroyed: destroyed } : {}),
        });
      },
      {
        ...rolloutSagaPhases(view, status, changed),
        describeRollback: (what, report) => ({
          message:
            report.failed.length > 0
              ? `blue-green rollout of ${describeImages(release.images)} stopped (${what}) and switching traffic back to ${active.join(', ')} failed: ${report.failed.map((f) => `${f.name}: ${f.error}`).join('; ')}. Check nginx on ${nginx.frontHost} by hand.`
              : `blue-green rollout of ${describeImages(release.images)} aborted (${what}); all traffic is on ${active.join(', ')} (${describeImages(activeImages)}) ${switchedBack ? `again, switched back with ${restored.length ? `${restored.join(', ')} put back on it first` : 'no host redeployed'}` : 'as before: the switch had not happened'}; ${created ? `the preview ${destroyed.length ? `${destroyed.join(', ')} destroyed` : `${created.described} not destroyed`}` : `the preview ${preview.join(', ')} keeps the new version out of rotation`}`,
          details: {
            failure: what,
            stable: activeImages,
            attempted: release.images,
            restored,
            ...(created ? { destroyed } : {}),
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
        weights: fleet.weights,
        hostsRestored: restored,
        ...(created ? { previewDestroyed: destroyed } : {}),
      },
    );
  }
}
