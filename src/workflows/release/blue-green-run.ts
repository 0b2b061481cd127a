// What every blue-green rollout shares, whatever runs its two sides (droplet fleets behind nginx in
// blue-green.ts, Deployments behind an HTTPRoute in kubernetes-blue-green.ts): the status steps and
// view the `status` query and the Web UI show, the humans' updates, and the phases it waits at: the
// pre- and post-promotion analyses (a failure asks for the abort, inconclusive waits for a human),
// the promotion (automatic, after autoPromotion.after, or the `promote` update) and the warm period
// (scaleDownDelay, ended early by an abort or promote --full). The sides' own steps stay with them.
import { condition, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { BuiltInArgs } from '../../rollouts/analysis/metric-rules';
import type { Weights } from '../../rollouts/traffic/router';
import { durationMs, type AnalysisRef, type RolloutSpec } from '../../specs/rollout';
import { describeError } from '../shared/saga';
import { StatusTracker } from '../shared/status';
import { finalLine } from '../shared/status-outcome';
import { describeImages, type Images } from './deploy-release';
import { analysisView, runRolloutAnalysis, type AnalysisOutcome } from './rollout-analysis';
import { rolloutStatusQuery, type RolloutResult, type RolloutView } from './rollout-api';
import { RolloutSteering } from './rollout-steering';
import { describeView } from './rollout-words';

/** The side that serves: its split (stable: the old version's share, canary: the preview's). */
export interface BlueGreenSwitch {
  weights: Weights;
  /** Droplets only: the old fleet out of rotation for good. */
  scaledDown?: boolean;
}

export interface BlueGreenRunSetup {
  environment: string;
  requestedBy: string;
  images: Images;
  steps: string[];
  /** After the workflow's name in the Web UI: `(blue-green)`. */
  heading: string;
}

export function startBlueGreenRun(setup: BlueGreenRunSetup) {
  const { steps } = setup;
  const status = new StatusTracker('rolloutRelease', steps);
  const view: RolloutView = {
    strategy: 'blue-green',
    phase: 'starting',
    requestedBy: setup.requestedBy,
    stableImages: {},
    canaryImages: setup.images,
    weight: { asked: { stable: 100, canary: 0 }, effective: { stable: 100, canary: 0 } },
    stepIndex: 0,
    stepCount: steps.length,
    canaryHosts: [],
    stableHosts: [],
    analyses: [],
    updates: [],
  };
  // Set once the side is made; the status reads the split from it.
  const live: { side?: BlueGreenSwitch } = {};
  const changed = () => {
    const side = live.side;
    if (side && view.blueGreen) {
      view.weight.asked = view.weight.effective = { ...side.weights };
      view.blueGreen.serving = side.weights.canary === 100 ? 'preview' : 'active';
      view.blueGreen.scaledDown = side.scaledDown || undefined;
    }
    const snapshot = status.snapshot();
    const head = snapshot.outcome ? finalLine(snapshot.outcome) : snapshot.step;
    setCurrentDetails(`**rolloutRelease** ${setup.heading} ${setup.environment}: ${head}\n\n${describeView(view)}`);
  };
  const steering = new RolloutSteering(view, changed);
  setHandler(rolloutStatusQuery, () => ({ ...status.snapshot(), rollout: JSON.parse(JSON.stringify(view)) as RolloutView }));
  steering.register();
  const step = (name: string) => {
    status.step(name);
    view.stepIndex = steps.indexOf(name);
    view.step = { index: view.stepIndex, kind: name.includes('analysis') ? 'analysis' : 'blue-green', detail: name };
    changed();
  };
  const failStep = (err: unknown): never => {
    status.failed(describeError(err));
    changed();
    throw err;
  };
  /** Every step done: the run is completed, and its result carries what every rollout returns. */
  const finished = (result: Omit<RolloutResult, 'environment' | 'requestedBy' | 'analyses' | 'updates'>): RolloutResult => {
    view.phase = 'completed';
    view.step = undefined;
    view.stepIndex = steps.length;
    status.finish('done');
    changed();
    return { environment: setup.environment, ...result, requestedBy: setup.requestedBy, analyses: view.analyses, updates: view.updates };
  };
  return { status, view, live, changed, steering, step, failStep, finished };
}

export interface BlueGreenGateSetup {
  view: RolloutView;
  steering: RolloutSteering;
  changed: () => void;
  spec: Pick<RolloutSpec, 'prometheus' | 'analysisTemplates'> & { blueGreen?: RolloutSpec['blueGreen'] };
  /** The args every analysis gets (environment, canary-version, stable-version). */
  builtIn: BuiltInArgs;
}

/** The phases a blue-green rollout waits at, in order: prePromotion, promotion, postPromotion, keepWarm. */
export function blueGreenGates({ view, steering, changed, spec, builtIn }: BlueGreenGateSetup) {
  const blueGreen = spec.blueGreen!;
  const analysis = async (name: string, ref: AnalysisRef | undefined): Promise<'passed' | 'human'> => {
    if (!ref || steering.promotedFull) return 'passed';
    const run = analysisView(name, ref);
    view.analyses.push(run);
    const outcome: AnalysisOutcome = await runRolloutAnalysis({
      view: run,
      address: spec.prometheus!.address,
      ref,
      templates: spec.analysisTemplates,
      builtIn,
      stop: () => steering.aborting || steering.promotedFull,
      changed,
    });
    if (outcome.phase === 'failed' || outcome.phase === 'error')
      steering.requestAbort({
        reason: `${name} analysis ${outcome.phase}: ${outcome.reason}`,
        metric: outcome.metric,
        values: outcome.values,
      });
    else if (outcome.phase === 'inconclusive') {
      await steering.waitForHuman(`${name} analysis inconclusive: ${outcome.reason}`);
      return 'human';
    }
    return 'passed';
  };
  return {
    /** The preview judged before it gets traffic; 'human' when a human promoted past an inconclusive result. */
    async prePromotion(): Promise<'passed' | 'human'> {
      await steering.holdWhilePaused();
      steering.throwIfAborted();
      const decided = await analysis('pre-promotion', blueGreen.prePromotionAnalysis);
      steering.throwIfAborted();
      return decided;
    },
    /** Returns once the switch may happen: at once, after autoPromotion.after, or on `promote`. */
    async promotion(decided: 'passed' | 'human', preview: string[], images: Images): Promise<void> {
      await steering.holdWhilePaused();
      steering.throwIfAborted();
      // A human who promoted past an inconclusive pre-promotion analysis has promoted already.
      if (decided !== 'human' && !steering.promotedFull) {
        const { enabled, after } = blueGreen.autoPromotion;
        const ready = `preview ${preview.join(', ')} ready on ${describeImages(images)}`;
        if (!enabled) await steering.waitForHuman(`${ready}: promote switches all traffic to it`);
        else if (after) await steering.pauseFor(durationMs(after), `${ready}: switching automatically after ${after}`);
      }
      steering.throwIfAborted();
    },
    /** The preview judged on live traffic after the switch; a failure asks for the abort (switch back). */
    async postPromotion(): Promise<void> {
      await analysis('post-promotion', blueGreen.postPromotionAnalysis);
      steering.throwIfAborted();
    },
    /**
     * Not a pause: a plain promote is refused here (nothing waits); abort still switches back,
     * promote --full ends the warm period now. `old` names what is kept warm.
     */
    async keepWarm(old: string[]): Promise<void> {
      const delay = durationMs(blueGreen.scaleDownDelay);
      view.blueGreen!.keptWarmUntil = new Date(Date.now() + delay).toISOString();
      changed();
      if (delay > 0)
        await condition(() => steering.aborting || steering.promotedFull, delay, {
          summary: `keep ${old.join(', ')} warm for ${blueGreen.scaleDownDelay}`,
        });
      steering.throwIfAborted();
    },
  };
}
