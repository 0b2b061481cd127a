// The `status` query every opsflow workflow answers: the current step, what exists so far and
// what is left, and once it has ended how it ended (state, reason, what was undone and what not).
// It also mirrors the current step, then that final line, into the Web UI's "current details".
import { defineQuery, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RollbackReport } from './failures';
import { recordOutcome } from './outcome-search-attribute';
import { compensationRemoves, failedOutcome, finalLine, rollbackOutcome, type FinalOutcome } from './status-outcome';

export type { FinalOutcome, FinalState } from './status-outcome';

export interface ResourceRecord {
  kind: string;
  id: string;
  name?: string;
  /** The step that made it, so printers list it under that step. */
  step?: string;
  /** Set when a rollback deleted it: it no longer exists. */
  undone?: boolean;
}

export interface OperationStatus {
  operation: string;
  workflowId: string;
  /** What the workflow is doing now; 'done', 'failed', 'rolling back', 'rolled back', ... at the end. */
  step: string;
  completedSteps: string[];
  /** Steps that ended with a failure ("back up: db/app: connection refused"); never also under completed. */
  failedSteps?: string[];
  remainingSteps: string[];
  resources: ResourceRecord[];
  /** Set once the workflow has ended. */
  outcome?: FinalOutcome;
}

export const statusQuery = defineQuery<OperationStatus>('status');

export class StatusTracker {
  private readonly status: OperationStatus;
  private readonly failing = new Map<string, string[]>();
  /** The step a rollback interrupted: it failed, though the reason is known only once the rollback ends. */
  private interrupted?: string;

  constructor(operation: string, plannedSteps: string[]) {
    this.status = {
      operation,
      workflowId: workflowInfo().workflowId,
      step: 'starting',
      completedSteps: [],
      failedSteps: [],
      remainingSteps: [...plannedSteps],
      resources: [],
    };
    this.answerQueries();
  }

  /** Makes this tracker the `status` query's answer again (after the environment claim answered it meanwhile). */
  answerQueries(): void {
    setHandler(statusQuery, () => this.snapshot());
  }

  /** Enter a step; the previous step, if any, counts as completed (or failed, see failCurrent). */
  step(name: string): void {
    this.finishCurrent();
    this.status.step = name;
    this.status.remainingSteps = this.status.remainingSteps.filter((s) => s !== name);
    setCurrentDetails(`**${this.status.operation}**: ${name}`);
  }

  /** The current step failed for this part (a backup target, say); it will be listed as failed, not done. */
  failCurrent(detail: string): void {
    const details = this.failing.get(this.status.step) ?? [];
    details.push(detail);
    this.failing.set(this.status.step, details);
  }

  recordResource(resource: ResourceRecord): void {
    this.status.resources.push({ ...resource, step: resource.step ?? this.status.step });
  }

  forgetResource(kind: string, id: string): void {
    this.status.resources = this.status.resources.filter((r) => !(r.kind === kind && r.id === id));
  }

  /** End state: 'done', 'failed', 'rolling back', 'cancelled'. 'rolling back' is not final. */
  finish(state: string): void {
    if (state === 'done') {
      this.finishCurrent();
      this.end({ state: 'completed', undone: [], notUndone: [], kept: [] }, 'done');
      return;
    }
    if (state === 'failed' || state === 'cancelled') {
      this.failCurrentIfNot(state);
      this.end(failedOutcome(undefined, state), state);
      return;
    }
    if (state === 'rolling back' && this.status.step !== 'rolling back') this.interrupted = this.status.step;
    this.status.step = state;
    setCurrentDetails(`**${this.status.operation}**: ${state}`);
  }

  /**
   * The workflow failed for `reason` (and undid nothing). `stepFailed: false` when the current step
   * itself went well and the failures were recorded earlier (failCurrent), as a backup run's report.
   */
  failed(reason: string, options: { stepFailed?: boolean } = {}): void {
    if (options.stepFailed === false) this.finishCurrent();
    else this.failCurrentIfNot(reason);
    this.end(failedOutcome(reason), 'failed');
  }

  /** Whether the run's final state is set (the printers and `endsInStatus` read it). */
  get ended(): boolean {
    return this.status.outcome !== undefined;
  }

  /** A saga's rollback ended (give it to runSaga's onRolledBack): what it undid is marked so. */
  rolledBack(report: RollbackReport, reason: string): void {
    this.failCurrentIfNot(reason);
    for (const r of this.status.resources) {
      if (report.compensated.some((c) => compensationRemoves(c, r))) r.undone = true;
    }
    const outcome = rollbackOutcome(report, reason);
    this.end(outcome, outcome.state);
  }

  /** The workflow failed and, as its spec asked, left what it made in place (`onFailure: keep`). */
  keptForInspection(kept: string[], reason: string): void {
    this.failCurrentIfNot(reason);
    this.end({ state: 'failed and kept', reason, undone: [], notUndone: [], kept: [...kept] }, 'failed and kept');
  }

  snapshot(): OperationStatus {
    return JSON.parse(JSON.stringify(this.status)) as OperationStatus;
  }

  private end(outcome: FinalOutcome, step: string): void {
    this.status.step = step;
    this.status.outcome = outcome;
    setCurrentDetails(`**${this.status.operation}**: ${finalLine(outcome)}`);
    recordOutcome(outcome.state);
  }

  /** The step the failure happened in is failed, unless the workflow was already past its steps. */
  private failCurrentIfNot(reason: string): void {
    const current = this.status.step === 'rolling back' ? this.interrupted : this.status.step;
    if (current === undefined || current === 'starting' || this.status.outcome) return;
    if (!this.failing.has(current)) this.failing.set(current, [reason]);
    this.finishCurrent(current);
  }

  private finishCurrent(current = this.status.step): void {
    if (current === 'starting' || current === 'rolling back' || this.status.completedSteps.includes(current)) return;
    const failures = this.failing.get(current);
    if (failures) {
      const line = `${current}: ${failures.join('; ')}`;
      if (!this.status.failedSteps!.includes(line)) this.status.failedSteps!.push(line);
    } else {
      this.status.completedSteps.push(current);
    }
  }
}
