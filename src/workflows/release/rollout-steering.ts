// The humans' side of a rollout: the promote, abort, pause and resume updates, each with a
// validator that refuses what makes no sense now (promote when nothing waits, abort after the end,
// resume when not paused) before anything reaches history, and every accepted update recorded with
// who sent it. The workflow's steps wait here: a pause step, an analysis that needs a human, a
// pause update; an abort (from a human or a failed analysis) wakes every wait at once.
import { ApplicationFailure, condition, log, setHandler } from '@temporalio/workflow';
import { actorName } from '../../specs/rollout-release';
import {
  abortUpdate,
  pauseUpdate,
  promoteUpdate,
  resumeUpdate,
  ROLLOUT_ABORTED,
  type RolloutAbortedDetails,
  type RolloutView,
  type UpdateRecord,
} from './rollout-api';

export interface AbortRequest {
  reason: string;
  by?: string;
  metric?: string;
  values?: number[][];
}

type WaitOutcome = 'elapsed' | 'promoted' | 'aborted';

const ENDED = ['completing', 'completed', 'aborting', 'aborted'];

export class RolloutSteering {
  /** Set while a step waits and a plain promote would end the wait. */
  private waiting?: string;
  private promoted = false;
  /** `promote --full`: every remaining step and pause is skipped. */
  promotedFull = false;
  pausedBy?: string;
  abortRequest?: AbortRequest;

  constructor(
    private readonly view: RolloutView,
    private readonly changed: () => void,
  ) {}

  register(): void {
    setHandler(
      promoteUpdate,
      ({ full, by }) => {
        const what = full ? 'promoted in full: every remaining step skipped' : `promoted past ${this.waiting}`;
        if (full) this.promotedFull = true;
        this.promoted = true;
        this.pausedBy = undefined;
        return this.accepted('promote', by, what);
      },
      {
        validator: (args) => {
          this.checkActor(args);
          this.refuseIfEnded('promote');
          if (!args.full && this.waiting === undefined)
            throw new Error(
              `nothing waits to be promoted: ${this.describeNow()} is running (promote --full skips every remaining step${this.pausedBy ? `; paused by ${this.pausedBy}: resume it` : ''})`,
            );
        },
      },
    );
    setHandler(abortUpdate, ({ reason, by }) => this.requestAbort({ reason: reason?.trim() || `aborted by ${by}`, by }, by), {
      validator: (args) => {
        this.checkActor(args);
        if (args.reason !== undefined && (typeof args.reason !== 'string' || args.reason.length > 500))
          throw new Error('reason must be text of at most 500 characters');
        this.refuseIfEnded('abort');
      },
    });
    setHandler(
      pauseUpdate,
      ({ by }) => {
        this.pausedBy = by;
        return this.accepted('pause', by, `paused: the next step waits for resume (${this.describeNow()} finishes first)`);
      },
      {
        validator: (args) => {
          this.checkActor(args);
          this.refuseIfEnded('pause');
          if (this.pausedBy) throw new Error(`already paused by ${this.pausedBy}`);
        },
      },
    );
    setHandler(
      resumeUpdate,
      ({ by }) => {
        const was = this.pausedBy;
        this.pausedBy = undefined;
        return this.accepted('resume', by, `resumed (paused by ${was})`);
      },
      {
        validator: (args) => {
          this.checkActor(args);
          this.refuseIfEnded('resume');
          if (!this.pausedBy)
            throw new Error(
              `not paused by a pause update${this.waiting ? `; ${this.waiting} waits for promote, not resume` : ` (${this.describeNow()} is running)`}`,
            );
        },
      },
    );
  }

  /** A failed analysis or an escalation aborts the rollout; `by` when a human sent it. */
  requestAbort(request: AbortRequest, by?: string): { accepted: string } {
    if (this.abortRequest) return { accepted: `already aborting: ${this.abortRequest.reason}` };
    this.abortRequest = request;
    this.view.abort = { ...request };
    log.warn('rollout aborting', { reason: request.reason, by: request.by });
    if (by) return this.accepted('abort', by, `aborted: ${request.reason}`);
    this.changed();
    return { accepted: request.reason };
  }

  /** A promote came in since the current wait began (also while an escalation notice was going out). */
  get promotedSinceWaiting(): boolean {
    return this.promoted || this.promotedFull;
  }

  get aborting(): boolean {
    return this.abortRequest !== undefined;
  }

  /** Throws RolloutAborted when an abort was asked for (the saga then puts everything back). */
  throwIfAborted(): void {
    const abort = this.abortRequest;
    if (!abort) return;
    const details: Partial<RolloutAbortedDetails> = { reason: abort.reason, metric: abort.metric, values: abort.values, by: abort.by };
    throw ApplicationFailure.create({ type: ROLLOUT_ABORTED, message: abort.reason, details: [details], nonRetryable: true });
  }

  /** A pause step with a duration: ends when the time is up, on promote, or on abort. */
  async pauseFor(ms: number, what: string): Promise<WaitOutcome> {
    return this.wait(what, 'timer', ms);
  }

  /**
   * Waits for a human's promote (or an abort); `escalateAfter` ms on, `escalate` is told once and
   * may answer what it notified (shown with the wait from then on).
   */
  async waitForHuman(what: string, escalateAfterMs?: number, escalate?: () => void | Promise<string | undefined>): Promise<WaitOutcome> {
    if (escalateAfterMs === undefined) return this.wait(what, 'human');
    // Kept open past the timeout: while the notice goes out the rollout still waits for a human, so
    // a promote sent then is accepted, not refused as "nothing waits".
    const first = await this.wait(what, 'human', escalateAfterMs, undefined, undefined, true);
    if (first !== 'elapsed') return first;
    this.view.pause = { ...this.view.pause!, escalated: true };
    this.changed();
    const notified = (await escalate?.()) ?? undefined;
    if (this.aborting || this.promoted || this.promotedFull) return this.endWait('promoted');
    return this.wait(what, 'human', undefined, true, notified);
  }

  /** Between steps: a pause update holds the rollout here until resume (or abort, or promote --full). */
  async holdWhilePaused(): Promise<void> {
    if (!this.pausedBy) return;
    const since = new Date().toISOString();
    this.view.phase = 'paused';
    this.view.pause = { reason: `paused by ${this.pausedBy}`, since, waitingFor: 'human' };
    this.changed();
    await condition(() => !this.pausedBy || this.aborting || this.promotedFull);
    this.view.phase = 'progressing';
    this.view.pause = undefined;
    this.changed();
  }

  private async wait(
    what: string,
    waitingFor: 'timer' | 'human',
    ms?: number,
    escalated?: boolean,
    notified?: string,
    keepOpenWhenElapsed = false,
  ): Promise<WaitOutcome> {
    this.waiting = what;
    this.promoted = false;
    const since = new Date();
    this.view.phase = 'paused';
    this.view.pause = {
      reason: what,
      since: since.toISOString(),
      waitingFor,
      ...(ms !== undefined && waitingFor === 'timer' ? { until: new Date(since.getTime() + ms).toISOString() } : {}),
      ...(escalated ? { escalated } : {}),
      ...(notified ? { notified } : {}),
    };
    this.changed();
    const woken = () => this.promoted || this.promotedFull || this.aborting;
    const inTime = ms === undefined ? (await condition(woken), true) : await condition(woken, ms, { summary: `pause: ${what}` });
    if (!inTime && keepOpenWhenElapsed && !this.aborting) return 'elapsed';
    return this.endWait(inTime ? 'promoted' : 'elapsed');
  }

  /** The wait is over: as it ended, unless an abort came first. */
  private endWait(outcome: 'promoted' | 'elapsed'): WaitOutcome {
    this.waiting = undefined;
    this.view.pause = undefined;
    if (this.aborting) return 'aborted';
    this.view.phase = 'progressing';
    this.changed();
    return outcome;
  }

  private accepted(name: UpdateRecord['name'], by: string, detail: string): { accepted: string } {
    this.view.updates.push({ name, by, at: new Date().toISOString(), detail });
    this.changed();
    return { accepted: detail };
  }

  private checkActor(args: unknown): void {
    const by = (args as { by?: unknown } | undefined)?.by;
    const parsed = actorName.safeParse(by);
    if (!parsed.success) throw new Error(`by: ${parsed.error.issues[0]!.message} (got ${JSON.stringify(by)})`);
  }

  private refuseIfEnded(update: string): void {
    if (this.view.phase === 'completing' || this.view.phase === 'completed')
      throw new Error(`cannot ${update}: every step has passed and the rollout is ${this.view.phase}`);
    if (this.aborting || ENDED.includes(this.view.phase))
      throw new Error(
        `cannot ${update}: the rollout is ${this.view.phase === 'aborted' ? 'aborted' : 'aborting'} (${this.abortRequest?.reason})`,
      );
  }

  private describeNow(): string {
    const step = this.view.step;
    // Blue-green steps are named, not numbered (a canary's are its spec's steps).
    if (step && this.view.strategy === 'blue-green') return step.detail;
    return step ? `step ${step.index + 1} (${step.kind} ${step.detail})` : this.view.phase;
  }
}
