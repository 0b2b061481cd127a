// rolloutRelease with a blueGreen spec on Kubernetes (traffic.httpRoute): the blue-green phases of
// the droplet rollout (blue-green-run.ts) with Deployments for fleets. The stable Deployment is
// blue; green is a preview Deployment (`<stable>-preview`, `track: preview`, the stable's replica
// count, the new images) behind the spec's second Service, made by the same activities and class
// as a canary (kubernetes-canary.ts). The route stays 100/0 while the preview is judged on test
// traffic sent to it directly; promotion switches it to 0/100 in one patch; the post-promotion
// analysis runs on live traffic while the stable Deployment stays warm, untouched. After
// scaleDownDelay the stable Deployment gets the new images while the preview carries the traffic,
// takes it back once rolled out, and the preview goes after previewFleet.drain. An abort or a
// failure switches the route back to 100/0 first (the stable Deployment, if its images had begun
// to change, put back before), then the saga deletes the preview: nothing is redeployed.
import type { KubernetesActivities } from '../../activities/kubernetes';
import { canaryDeploymentName, describeTrafficObject, type KubernetesRollout } from '../../specs/kubernetes-rollout';
import { durationMs } from '../../specs/rollout';
import { runSaga } from '../shared/saga';
import { blueGreenGates, startBlueGreenRun } from './blue-green-run';
import { waitFor } from './canary-engine';
import { describeImages } from './deploy-release';
import { KubernetesCanary, plannedView, readStableVersion } from './kubernetes-canary';
import { asRolloutAborted } from './rollout-aborted';
import type { RolloutResult } from './rollout-api';
import { rolloutRollback, rolloutSagaPhases } from './rollout-saga-phases';
import { imageTag } from './rollout-words';

const STEPS = [
  'validate input',
  'record running images',
  'take over traffic',
  'deploy the preview',
  'pre-promotion analysis',
  'promote',
  'post-promotion analysis',
  'keep the stable Deployment warm',
  'update the stable Deployment',
  'remove the preview',
];

export interface KubernetesCalls {
  kubernetes: KubernetesActivities;
  /** The rollback's calls (retried as compensations are). */
  undo: KubernetesActivities;
}

export async function blueGreenOnKubernetes(parsed: KubernetesRollout, { kubernetes, undo }: KubernetesCalls): Promise<RolloutResult> {
  const { environment, images, spec, requestedBy, traffic } = parsed;
  const blueGreen = spec.blueGreen!;
  const ns = traffic.namespace;
  const { status, view, live, changed, steering, step, failStep, finished } = startBlueGreenRun({
    environment,
    requestedBy,
    images,
    steps: STEPS,
    heading: '(blue-green, Kubernetes)',
  });
  const objects = plannedView(traffic, 'preview');
  view.kubernetes = objects;

  const target = await readStableVersion({ kubernetes, environment, traffic, images, step, fail: failStep, track: 'preview' });
  const stableImages = target.stableImages;
  const previewDeployment = canaryDeploymentName(traffic, target.stableDeployment, 'preview');
  const side = KubernetesCanary.forTarget(target, {
    kubernetes,
    undo,
    traffic,
    canaryDeployment: previewDeployment,
    replicas: target.stableReplicas,
    canaryImages: images,
    track: 'preview',
    view: objects,
    changed,
  });
  live.side = side;
  const active = side.stableNames;
  const preview = [`Deployment ${ns}/${previewDeployment}`];
  view.stableImages = stableImages;
  view.stableHosts = active;
  view.canaryHosts = preview;
  // In the cluster, test traffic reaches the preview through its Service before the switch.
  view.blueGreen = {
    activeHosts: active,
    previewHosts: preview,
    previewServers: [`Service ${ns}/${traffic.canaryService}`],
    serving: 'active',
  };
  const first = Object.keys(images)[0]!;
  const builtIn = { environment, 'canary-version': imageTag(images[first]!), 'stable-version': imageTag(stableImages[first]!) };
  const gates = blueGreenGates({ view, steering, changed, spec, builtIn });

  let switchedBack = false;
  let restored = false;
  let removed: string[] = [];
  /** Once no traffic is on it: kept previewFleet.drain if it ever had some (requests under way finish), then deleted. */
  const removePreview = async () => {
    const delay = side.carriedTraffic ? durationMs(blueGreen.previewFleet.drain) : 0;
    objects.canaryRemovedAfter = new Date(Date.now() + delay).toISOString();
    changed();
    await waitFor(delay);
    removed = await side.removeCanary();
  };
  const previewWords = `preview Deployment ${ns}/${previewDeployment} and Service ${ns}/${traffic.canaryService}`;
  try {
    return await runSaga(
      async (saga) => {
        // Oldest, so last on rollback: the route is on stable before the preview goes. Registered
        // before the apply: the delete is safe when nothing was made, and catches a lost answer.
        saga.addCompensation(`remove the ${previewWords}`, removePreview);
        saga.addCompensation('all traffic back to the stable Deployment', async () => {
          restored = await side.restoreStable(stableImages);
          switchedBack = side.weights.canary > 0;
          await side.trafficToStable();
          if (switchedBack) view.blueGreen!.switchedBackAt = new Date().toISOString();
        });

        step('take over traffic');
        await side.route({ stable: 100, canary: 0 });
        view.phase = 'progressing';

        step('deploy the preview');
        await side.deployCanary();
        steering.throwIfAborted();

        step('pre-promotion analysis');
        const decided = await gates.prePromotion();

        step('promote');
        await gates.promotion(decided, preview, images);
        await side.route({ stable: 0, canary: 100 });
        view.blueGreen!.switchedAt = new Date().toISOString();
        changed();

        step('post-promotion analysis');
        await gates.postPromotion();

        step('keep the stable Deployment warm');
        await gates.keepWarm(active);

        // The cluster keeps its shape: the stable Deployment gets the new images while the preview
        // carries the traffic, takes it back once rolled out, and the preview goes.
        view.phase = 'completing';
        step('update the stable Deployment');
        await side.complete();
        view.blueGreen!.returnedToFleetAt = new Date().toISOString();
        step('remove the preview');
        await removePreview();
        return finished({ images, previousImages: stableImages, hosts: [], kubernetes: { ...objects, removed } });
      },
      {
        ...rolloutSagaPhases(view, status, changed),
        describeRollback: rolloutRollback({
          kind: 'blue-green rollout',
          images,
          stableImages,
          view,
          undoing: `switching traffic back to ${active.join(', ')}`,
          checkByHand: () => `${describeTrafficObject(traffic)} and the ${previewWords} on cluster ${traffic.cluster}`,
          undone: () =>
            `all traffic is on ${active.join(', ')} (${describeImages(stableImages)}) ${switchedBack ? `again, switched back with ${restored ? 'its images put back first' : 'nothing redeployed'}` : 'as before: the switch had not happened'}; ${removed.length ? `${removed.join(' and ')} deleted` : 'no preview object was left to delete'}`,
          details: () => ({ canaryRemoved: removed }),
        }),
      },
    );
  } catch (err) {
    throw asRolloutAborted(
      err,
      steering.abortRequest && { ...steering.abortRequest, weights: side.weights, hostsRestored: [], canaryRemoved: removed },
    );
  }
}
