// fenceReturningPrimary's public face: what it carries from one run to the next (continue-as-new),
// its `status` query (each server's state and the last tries) and its result. Shared by the
// workflow, failoverSite (which starts it) and tests.
import { defineQuery } from '@temporalio/workflow';

/** One server the watcher is to fence: waiting for it to answer, then fenced. */
export interface FenceTarget {
  server: string;
  state: 'waiting' | 'fenced';
  /** Tries that found it unreachable (or refusing) so far. */
  misses: number;
  /** When it was fenced (workflow time, ISO), what it had written last and the clients cut. */
  fencedAt?: string;
  finalPosition?: string;
  killed?: number;
}

/** One try, compact: when, and per server what happened (`unreachable: ...`, `fenced`, `refused: ...`). */
export interface FenceTry {
  at: string;
  saw: Record<string, string>;
}

export type FenceWatchEnd = 'fenced' | 'gave up' | 'superseded';

/** What one run hands the next. */
export interface FenceWatchState {
  /** When the first run started (workflow time, ISO); the max duration counts from here. */
  since: string;
  /** Tries since the first run. */
  tries: number;
  /** This is the watcher's `runs`-th run (1 for the first). */
  runs: number;
  database?: FenceTarget;
  redis?: FenceTarget;
  /** Whether the environment's inventory held the failover's record at the last look (later operations are read after it). */
  failoverRecorded?: boolean;
  /** The newest tries, newest last (at most KEPT_TRIES). */
  recent: FenceTry[];
}

export interface FenceWatchView extends FenceWatchState {
  environment: string;
  failoverWorkflowId: string;
  phase: 'watching' | FenceWatchEnd;
  /** When it gives up unless it fenced everything or was superseded before (ISO). */
  giveUpAt: string;
  intervalSeconds: number;
  /** Why it ended, in words. */
  ended?: string;
}

export interface FenceWatchResult {
  outcome: FenceWatchEnd;
  detail: string;
  tries: number;
  database?: FenceTarget;
  redis?: FenceTarget;
}

export const fenceWatchStatusQuery = defineQuery<FenceWatchView>('status');

/** How many tries the state keeps (it is carried through continue-as-new). */
export const KEPT_TRIES = 5;
