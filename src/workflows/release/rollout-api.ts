// rolloutRelease's public surface: what it takes, the updates that steer it, what its `status`
// query shows and what it returns. The CLI, tests and the workflow import these names from here
// only, so the workflow's insides can change without breaking a caller.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { DeployReleaseInput } from '../../specs/deploy-release';
import type { EnvironmentSpec } from '../../specs/environment';
import type { RolloutSpecInput } from '../../specs/rollout';
import type { MeasurementPhase } from '../../rollouts/analysis/measurement';
import type { MetricPhase } from '../../rollouts/analysis/verdict';
import type { Weights } from '../../rollouts/traffic/router';
import { OUTCOME } from '../shared/failures';
import type { KubernetesCanaryView } from './kubernetes-canary-view';
import type { OperationStatus } from '../shared/status';

export { rolloutWorkflowId } from '../../names/workflow-ids';
export type { KubernetesCanaryView, Weights };

/**
 * The environment's hosts (the fleet and nginx's front host), how to reach them, the new images and
 * health checks, all as deployRelease takes them; then the rollout spec and who asked.
 */
export type RolloutReleaseInput = DeployReleaseInput & {
  /** The rollout spec (src/specs/rollout.ts); its environment must be this input's. */
  spec: RolloutSpecInput;
  /** Who started it (recorded in the status and the result). */
  requestedBy: string;
  /**
   * The environment spec the fleet was provisioned from, with application.compose inlined (as
   * `opsflow rollout --environment-spec` reads it): required when spec.canary.maxSurge is above 0
   * or spec.blueGreen.previewFleet.create is set, since a surge or preview droplet is made as the fleet's droplets were (their group's size, image and tags,
   * the region, the bootstrap, the compose application).
   */
  environmentSpec?: EnvironmentSpec;
};

/** Everyone who steers a rollout says who they are; it is recorded with the update. */
export interface PromoteArgs {
  /** Skip every remaining step and pause, straight to 100% and the end (Argo's --full). */
  full?: boolean;
  by: string;
}
export interface AbortArgs {
  reason?: string;
  by: string;
}
export interface PauseArgs {
  by: string;
}
export type ResumeArgs = PauseArgs;

/** What an accepted update did, in words. */
export interface UpdateAccepted {
  accepted: string;
}

export const promoteUpdate = defineUpdate<UpdateAccepted, [PromoteArgs]>('promote');
export const abortUpdate = defineUpdate<UpdateAccepted, [AbortArgs]>('abort');
export const pauseUpdate = defineUpdate<UpdateAccepted, [PauseArgs]>('pause');
export const resumeUpdate = defineUpdate<UpdateAccepted, [ResumeArgs]>('resume');

/** The failure type a rollout aborted by analysis or by a human ends with (traffic and hosts back on stable). */
export const ROLLOUT_ABORTED = OUTCOME.RolloutAborted;

export type RolloutPhase =
  | 'starting'
  | 'progressing'
  /** Waiting: for a timer, a human (promote/resume), or after a `pause` update. */
  | 'paused'
  /** Every step passed; the hosts still on stable get the new images. An abort is refused from here. */
  | 'completing'
  | 'completed'
  | 'aborting'
  | 'aborted';

/** A canary step's kind; `blue-green` for a blue-green rollout's other steps (deploy the preview, promote, keep warm...). */
export type StepKind = 'setWeight' | 'pause' | 'analysis' | 'blue-green';

export interface MeasurementView {
  /** Workflow time the measurement was taken (ISO). */
  at: string;
  phase: MeasurementPhase;
  values: number[];
  message: string;
}

export interface MetricView {
  name: string;
  phase: MetricPhase;
  reason: string;
  measurements: MeasurementView[];
}

export interface AnalysisView {
  /** `step 2` for an inline analysis, `background` for the canary's background analysis, `pre-promotion`/`post-promotion` for blue-green. */
  name: string;
  templates: string[];
  phase: MetricPhase;
  reason: string;
  metrics: MetricView[];
}

export interface UpdateRecord {
  name: 'promote' | 'abort' | 'pause' | 'resume';
  by: string;
  at: string;
  /** What it did ("promoted past step 2 (pause)", "aborted: too slow"). */
  detail: string;
}

/** A surge droplet of a canary with maxSurge: where it is and what is being done with it. */
export interface SurgeDropletView {
  /** Its instance name (`platform-surge-1`), as canaryHosts lists it. */
  instance: string;
  /** The droplet's name (`stack-b-platform-surge-1`). */
  name: string;
  id?: number;
  /** Its public address, once active (nginx's upstream reaches it there). */
  address?: string;
  /** `ready`: a preview droplet running the new version, out of rotation until the switch. */
  state: 'planned' | 'creating' | 'bootstrapping' | 'deploying' | 'ready' | 'serving' | 'draining' | 'destroying' | 'destroyed';
  /** While draining: when it is destroyed (scaleDownDelay after its weight went to 0). */
  until?: string;
}

/** A blue-green rollout's fleets and switch (stableHosts/canaryHosts and the weights say the same in canary terms: stable is blue, canary is green). */
export interface BlueGreenView {
  /** Blue: the hosts nginx served before the switch (they keep the old version). */
  activeHosts: string[];
  /** Green: the hosts that get the new version out of rotation and take all traffic at the switch. */
  previewHosts: string[];
  /** address:port of each preview host: where test traffic reaches the preview directly before the switch. */
  previewServers: string[];
  /** Which fleet nginx sends the traffic to now. */
  serving: 'active' | 'preview';
  /** Workflow time of the switch to the preview, and of the switch back if there was one (ISO). */
  switchedAt?: string;
  switchedBackAt?: string;
  /** Until when the old fleet is kept warm for a switch back (set once the post-promotion analysis passed). */
  keptWarmUntil?: string;
  /** Once the delay is over: the old fleet is out of rotation for good (it keeps the old version and becomes the next preview). */
  scaledDown?: boolean;
  /**
   * With previewFleet.create: the preview droplets made for the rollout (previewHosts names them by
   * instance), their addresses and states, until destroyed.
   */
  previewDroplets?: SurgeDropletView[];
  /** With previewFleet.create, after scaleDownDelay: when the fleet, given the new version, took the traffic back (ISO). */
  returnedToFleetAt?: string;
}

export interface RolloutView {
  strategy: 'canary' | 'blue-green';
  phase: RolloutPhase;
  requestedBy: string;
  stableImages: Record<string, string>;
  canaryImages: Record<string, string>;
  /** The split asked by the steps so far, and the one really in place (they differ under LB membership). */
  weight: { asked: Weights; effective: Weights; note?: string };
  /** Membership weighting: the load balancer, and its members before the rollout (an abort puts them back). */
  loadBalancer?: { name: string; ip: string; savedMembers: string[] };
  /** The step running now (0-based) and how many there are; stepIndex = stepCount once all ran. */
  stepIndex: number;
  stepCount: number;
  step?: { index: number; kind: StepKind; detail: string };
  canaryHosts: string[];
  stableHosts: string[];
  /** With maxSurge: the droplets made beside the fleet for the canary (listed in canaryHosts while they serve). */
  surge?: SurgeDropletView[];
  /** A canary on Kubernetes: the cluster, its objects and the canary's ready replicas. */
  kubernetes?: KubernetesCanaryView;
  analyses: AnalysisView[];
  /** Why it waits, while it waits. */
  pause?: {
    reason: string;
    since: string;
    waitingFor: 'timer' | 'human';
    until?: string;
    escalated?: boolean;
    /** The escalation's notification: sent (to which webhook host) or why it could not be. */
    notified?: string;
  };
  /** Blue-green only. */
  blueGreen?: BlueGreenView;
  /** Why it aborted (or is aborting). */
  abort?: { reason: string; metric?: string; values?: number[][]; by?: string };
  updates: UpdateRecord[];
}

/** The `status` query of a rollout: the house status (steps, outcome) with the rollout's own view. */
export type RolloutStatus = OperationStatus & { rollout?: RolloutView };
export const rolloutStatusQuery = defineQuery<RolloutStatus>('status');

export interface RolloutResult {
  environment: string;
  /** The images every fleet host runs now. */
  images: Record<string, string>;
  /** What ran before. */
  previousImages: Record<string, string>;
  /** A canary on Kubernetes: its objects, and what was deleted at the end. */
  kubernetes?: KubernetesCanaryView;
  hosts: string[];
  /** With maxSurge: the surge droplets the canary ran on, destroyed at the end. */
  surgeDestroyed?: string[];
  /** With blueGreen.previewFleet.create: the preview droplets made for the rollout, destroyed at the end. */
  previewDestroyed?: string[];
  requestedBy: string;
  analyses: AnalysisView[];
  updates: UpdateRecord[];
}

/** Details of a RolloutAborted failure. */
export interface RolloutAbortedDetails {
  reason: string;
  metric?: string;
  /** The metric's measured values, one array per measurement. */
  values?: number[][];
  by?: string;
  /** What the abort put back. */
  weights: Weights;
  /** A canary on Kubernetes: the canary objects deleted once the traffic was back on stable. */
  canaryRemoved?: string[];
  hostsRestored: string[];
  /** With maxSurge: the surge droplets destroyed after the traffic was back on the fleet. */
  surgeDestroyed?: string[];
  /** With blueGreen.previewFleet.create: the preview droplets destroyed after the traffic was back on the fleet. */
  previewDestroyed?: string[];
}
