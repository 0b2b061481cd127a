// The `status` query every opsflow workflow answers: the current step, what exists so far and
// what is left. It also mirrors the current step into the Web UI's "current details".
import { defineQuery, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';

export interface ResourceRecord {
  kind: string;
  id: string;
  name?: string;
}

export interface OperationStatus {
  operation: string;
  workflowId: string;
  /** What the workflow is doing now; 'done', 'failed' or 'rolling back' at the end. */
  step: string;
  completedSteps: string[];
  remainingSteps: string[];
  resources: ResourceRecord[];
}

export const statusQuery = defineQuery<OperationStatus>('status');

export class StatusTracker {
  private readonly status: OperationStatus;

  constructor(operation: string, plannedSteps: string[]) {
    this.status = {
      operation,
      workflowId: workflowInfo().workflowId,
      step: 'starting',
      completedSteps: [],
      remainingSteps: [...plannedSteps],
      resources: [],
    };
    setHandler(statusQuery, () => this.snapshot());
  }

  /** Enter a step; the previous step, if any, counts as completed. */
  step(name: string): void {
    this.finishCurrent();
    this.status.step = name;
    this.status.remainingSteps = this.status.remainingSteps.filter((s) => s !== name);
    setCurrentDetails(`**${this.status.operation}**: ${name}`);
  }

  recordResource(resource: ResourceRecord): void {
    this.status.resources.push(resource);
  }

  forgetResource(kind: string, id: string): void {
    this.status.resources = this.status.resources.filter((r) => !(r.kind === kind && r.id === id));
  }

  /** End state: 'done', 'failed', 'rolling back', 'cancelled'. */
  finish(state: string): void {
    if (state === 'done') this.finishCurrent();
    this.status.step = state;
    setCurrentDetails(`**${this.status.operation}**: ${state}`);
  }

  snapshot(): OperationStatus {
    return JSON.parse(JSON.stringify(this.status)) as OperationStatus;
  }

  private finishCurrent(): void {
    const current = this.status.step;
    if (current !== 'starting' && !this.status.completedSteps.includes(current)) {
      this.status.completedSteps.push(current);
    }
  }
}
