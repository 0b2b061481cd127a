// rolloutRelease's canary engine, one for every backend: the status steps, the view the `status`
// query and the Web UI show, the humans' updates (rollout-steering.ts), the spec's steps (setWeight,
// pause, inline and background analysis on Prometheus), and the saga that puts the stable version
// back on an abort: all traffic to stable first, then the side's own undo steps, newest first.
// What runs the versions and moves the traffic is a CanarySide: droplets behind nginx or a load
// balancer (rollout-release.ts with rollout-fleet.ts and surge-droplets.ts), or a Deployment beside
// the stable one behind an HTTPRoute (kubernetes-canary.ts). The side is made by `makeSide` once
// the status answers, so what it reads at its start (the images running, the load balancer, the
// stable Deployment) shows as steps of this run and an update sent meanwhile is already heard.
import { patched, setCurrentDetails, setHandler, sleep } from '@temporalio/workflow';
import type { Weights } from '../../rollouts/traffic/router';
import { durationMs, type AnalysisRef, type CanaryStep, type RolloutSpec } from '../../specs/rollout';
import { describeError, runSaga } from '../shared/saga';
import { StatusTracker } from '../shared/status';
import { finalLine } from '../shared/status-outcome';
import { describeImages, type Images } from './deploy-release';
import { analysisView, runRolloutAnalysis, type AnalysisOutcome } from './rollout-analysis';
import { rolloutStatusQuery, type RolloutAbortedDetails, type RolloutResult, type RolloutView } from './rollout-api';
import { rolloutRollback, rolloutSagaPhases } from './rollout-saga-phases';
import { asRolloutAborted } from './rollout-aborted';
import { sendEscalationNotice } from './rollout-notice';
import { RolloutSteering } from './rollout-steering';
import { describeStep, describeView, imageTag } from './rollout-words';

/** Where the split is applied and over what: RolloutFleet for droplets, KubernetesCanary for a cluster. */
export interface CanaryTraffic {
  /** The split asked by the steps so far. */
  weights: Weights;
  /** The split really given (membership may differ from the one asked). */
  effective: Weights;
  /** Why they differ, for the status. */
  note?: string;
  /** What runs the canary and the stable version now, by name, for the status. */
  readonly canaryNames: string[];
  readonly stableNames: string[];
  route(weights: Weights): Promise<void>;
  /** What the canary needs for `weight` (hosts changed, nothing on Kubernetes), then the split. */
  setWeight(weight: number): Promise<void>;
  /** The abort's first undo: all traffic to the stable version (false if nothing stable is left). */
  trafficToStable(): Promise<boolean>;
  /** Every step passed: the stable version becomes the new one and takes all traffic again. */
  complete(): Promise<void>;
}

export interface CanaryUndo {
  name: string;
  run: () => Promise<unknown>;
}

export interface CanarySide {
  traffic: CanaryTraffic;
  stableImages: Images;
  /** Undo steps, oldest first: on an abort they run newest first, after all traffic went to stable. */
  undo: CanaryUndo[];
  /** After the take-over, before the first step (surge droplets made, the canary Deployment applied). */
  prepare(): Promise<void>;
  /** After complete(): what is left of the canary goes. */
  finish(): Promise<void>;
  /** The side's part of the result and of RolloutAborted's details. */
  result(): Partial<RolloutResult>;
  aborted(): Partial<RolloutAbortedDetails>;
  /** After "all traffic is on <stable> again": what the undo did (`app-1 runs it again`). */
  undone(): string;
  /** Where to look by hand when the undo itself failed. */
  checkByHand: string;
  rollbackDetails(): Record<string, unknown>;
}

export interface CanaryPlan {
  environment: string;
  requestedBy: string;
  spec: Pick<RolloutSpec, 'canary' | 'analysisTemplates' | 'prometheus' | 'notify'>;
  canaryImages: Images;
  /** Status steps of the side's prepare (after 'take over traffic') and finish (after 'complete'). */
  prepareSteps: string[];
  finishSteps: string[];
  /** The view's side-specific parts at the start (stable hosts, surge droplets, the Kubernetes objects). */
  view: Partial<RolloutView>;
  /** The Web UI's heading after the workflow's name (` (kubernetes)` or nothing). */
  heading?: string;
}

export interface CanaryContext {
  status: StatusTracker;
  view: RolloutView;
  /** The status and the Web UI are told of a change. */
  changed: () => void;
  step: (name: string) => void;
  /** The side's failure before the saga: recorded in the status, then thrown. */
  fail: (err: unknown) => never;
  /** Throws RolloutAborted when an abort was asked for (between the side's own steps). */
  throwIfAborted: () => void;
}

export async function runCanary(plan: CanaryPlan, makeSide: (ctx: CanaryContext) => Promise<CanarySide>): Promise<RolloutResult> {
  const { spec, canaryImages, requestedBy, environment } = plan;
  const canary = spec.canary!;
  const stepNames = canary.steps.map((step, i) => `step ${i + 1}/${canary.steps.length}: ${describeStep(step)}`);
  const status = new StatusTracker('rolloutRelease', [
    'validate input',
    'record running images',
    'take over traffic',
    ...plan.prepareSteps,
    ...stepNames,
    'complete',
    ...plan.finishSteps,
  ]);
  const view: RolloutView = {
    strategy: 'canary',
    phase: 'starting',
    requestedBy,
    stableImages: {},
    canaryImages,
    weight: { asked: { stable: 100, canary: 0 }, effective: { stable: 100, canary: 0 } },
    stepIndex: 0,
    stepCount: canary.steps.length,
    canaryHosts: [],
    stableHosts: [],
    ...plan.view,
    analyses: [],
    updates: [],
  };
  // Set once the side is made; the status reads the hosts and weights from it.
  const live: { traffic?: CanaryTraffic } = {};
  const changed = () => {
    const traffic = live.traffic;
    if (traffic) {
      view.weight = { asked: { ...traffic.weights }, effective: { ...traffic.effective }, ...(traffic.note ? { note: traffic.note } : {}) };
      view.canaryHosts = [...traffic.canaryNames];
      view.stableHosts = [...traffic.stableNames];
    }
    const snapshot = status.snapshot();
    const head = snapshot.outcome ? finalLine(snapshot.outcome) : snapshot.step;
    setCurrentDetails(`**rolloutRelease**${plan.heading ?? ''} ${environment}: ${head}\n\n${describeView(view)}`);
  };
  const steering = new RolloutSteering(view, changed);
  setHandler(rolloutStatusQuery, () => ({ ...status.snapshot(), rollout: JSON.parse(JSON.stringify(view)) as RolloutView }));
  steering.register();
  const step = (name: string) => {
    status.step(name);
    changed();
  };
  const fail = (err: unknown): never => {
    status.failed(describeError(err));
    changed();
    throw err;
  };

  const side = await makeSide({ status, view, changed, step, fail, throwIfAborted: () => steering.throwIfAborted() });
  live.traffic = side.traffic;
  const stableImages = side.stableImages;
  view.stableImages = stableImages;
  changed();
  const first = Object.keys(canaryImages)[0]!;
  const builtIn = {
    environment,
    'canary-version': imageTag(canaryImages[first]!),
    'stable-version': imageTag(stableImages[first]!),
  };

  const analysisRun = (name: string, ref: AnalysisRef, stop: () => boolean) => {
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

  try {
    return await runSaga(
      async (saga) => {
        for (const undo of side.undo) saga.addCompensation(undo.name, undo.run);
        // Newest, so first on rollback: traffic to stable before anything else changes back.
        saga.addCompensation('all traffic to the stable version', () => side.traffic.trafficToStable());

        step('take over traffic');
        await side.traffic.route({ stable: 100, canary: 0 });
        view.phase = 'progressing';
        await side.prepare();

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
        await side.traffic.complete();
        await side.finish();
        view.phase = 'completed';
        status.finish('done');
        changed();
        return {
          environment,
          images: canaryImages,
          previousImages: stableImages,
          hosts: [],
          ...side.result(),
          requestedBy,
          analyses: view.analyses,
          updates: view.updates,
        };
      },
      {
        ...rolloutSagaPhases(view, status, changed),
        describeRollback: rolloutRollback({
          kind: 'rollout',
          images: canaryImages,
          stableImages,
          view,
          undoing: 'putting the stable version back',
          checkByHand: () => side.checkByHand,
          undone: () => `all traffic is on ${describeImages(stableImages)} again and ${side.undone()}`,
          details: () => side.rollbackDetails(),
        }),
      },
    );
  } catch (err) {
    throw asRolloutAborted(
      err,
      steering.abortRequest && {
        ...steering.abortRequest,
        weights: side.traffic.weights,
        hostsRestored: [],
        ...side.aborted(),
      },
    );
  }

  async function runStep(i: number, current: CanaryStep): Promise<void> {
    if (current.setWeight !== undefined) return side.traffic.setWeight(current.setWeight);
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
                environment,
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

/** A wait the side needs (scaleDownDelay before the canary goes); a timer, so a replay waits no more. */
export async function waitFor(ms: number): Promise<void> {
  if (ms > 0) await sleep(ms);
}
