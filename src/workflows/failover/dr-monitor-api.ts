// drMonitor's public face: the state it carries from one run to the next (continue-as-new) and
// the `status` query (the last verdicts, the consecutive count, the cooldown, the failover it
// started). Shared by the workflow, `opsflow dr status` and tests.
import { defineQuery } from '@temporalio/workflow';
import type { ObserverVerdict, ObserverName } from './assessment';

/** One probe: each observer's verdict and the majority's. */
export interface MonitorVerdict {
  /** Workflow time of the probe (ISO). */
  at: string;
  down: number;
  needed: number;
  declaredDown: boolean;
  observers: { observer: ObserverName; verdict: ObserverVerdict; saw: string }[];
}

/** A failover the monitor started (or tried to: `refused` says why not). */
export interface MonitorFailover {
  workflowId: string;
  /** The started run; absent when refused. */
  runId?: string;
  at: string;
  /** Why the start was refused (a failover of the site already running under that id). */
  refused?: string;
  /** The verdict that made the monitor act. */
  verdict: MonitorVerdict;
}

/** What one run hands the next. */
export interface DrMonitorState {
  /** Probes since the monitor's first run. */
  probes: number;
  /** This is the monitor's `runs`-th run (1 for the first). */
  runs: number;
  /** Consecutive probes so far in which a majority saw the site down. */
  consecutiveDown: number;
  /** False from starting a failover until a probe sees the site not down again: a dark site is failed over once. */
  armed: boolean;
  /** No failover is started before this (workflow time, ISO). */
  cooldownUntil?: string;
  /** The newest verdicts, newest last. */
  verdicts: MonitorVerdict[];
  /** The failovers it started or tried to, newest last. */
  failovers: MonitorFailover[];
}

export interface DrMonitorView extends DrMonitorState {
  environment: string;
  site: string;
  survivor: string;
  phase: 'watching' | 'cooling down' | 'disarmed';
  /** Probes in this run (it continues as new after `probesPerRun`). */
  probesThisRun: number;
  probesPerRun: number;
  /** Consecutive majority-down verdicts needed to act. */
  needed: number;
  intervalSeconds: number;
}

export const drMonitorStatusQuery = defineQuery<DrMonitorView>('status');

/** How many verdicts and failovers the state keeps (it is carried through continue-as-new). */
export const KEPT_VERDICTS = 10;
export const KEPT_FAILOVERS = 5;
