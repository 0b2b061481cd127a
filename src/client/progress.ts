// Live progress of a running workflow for the terminal: each step once it is done, what exists so
// far, and a spinner on the current step when the output is a terminal.
import type { WorkflowHandle } from '@temporalio/client';
import type { OperationStatus } from '../workflows/shared/status';
import { finalLine } from '../workflows/shared/status-outcome';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Steps that are not work in progress: no spinner on them. */
const NO_SPINNER = ['done', 'rolling back', 'failed', 'cancelled', 'starting'];

/** A line of a workflow's own progress (a rollout's weights and measurements), printed once by its key. */
export interface ProgressLine {
  key: string;
  text: string;
}

export interface ProgressOptions {
  out?: { write(text: string): boolean; isTTY?: boolean };
  intervalMs?: number;
  /** More lines from the same status, after its steps: each printed the first time its key is seen. */
  lines?: (status: OperationStatus) => ProgressLine[];
}

/** Prints each line once, however often the same status is shown: steps, their resources, the rollback, the end. */
export class ProgressPrinter {
  private readonly printed = new Set<string>();
  private readonly firstSeen = new Map<string, number>();
  private frame = 0;

  constructor(
    private readonly out: { write(text: string): boolean; isTTY?: boolean },
    private readonly now: () => number = Date.now,
  ) {}

  show(status: OperationStatus, lines: ProgressLine[] = []): void {
    this.clearSpinner();
    const width = Math.max(0, ...status.resources.map((r) => r.kind.length));
    const resourcesOf = (step: string | undefined) => {
      for (const r of status.resources.filter((r) => r.step === step)) {
        this.once(`resource ${r.kind}/${r.id}`, `    + ${r.kind.padEnd(width)} ${r.name ? `${r.name} ` : ''}${r.id}\n`);
      }
    };
    for (const step of status.completedSteps) {
      const since = this.firstSeen.get(step);
      const took = since === undefined ? '' : ` (${((this.now() - since) / 1000).toFixed(1)} s)`;
      if (this.once(`step ${step}`, `  ✔ ${step}${took}\n`)) resourcesOf(step);
    }
    for (const line of status.failedSteps ?? []) {
      const step = line.slice(0, line.indexOf(':'));
      if (this.once(`failed ${line}`, `  ✖ ${line}\n`)) resourcesOf(step);
    }
    // Resources from a status without steps on them (older workers) follow the steps, as before.
    resourcesOf(undefined);
    for (const line of lines) this.once(`line ${line.key}`, line.text);
    if (!this.firstSeen.has(status.step)) this.firstSeen.set(status.step, this.now());
    const outcome = status.outcome;
    if (status.step === 'rolling back' || (outcome && outcome.undone.length + outcome.notUndone.length > 0)) {
      this.once('rolling back', '  ↺ rolling back\n');
    }
    if (outcome) {
      for (const name of outcome.undone) this.once(`undone ${name}`, `    - ${name}\n`);
      for (const f of outcome.notUndone) this.once(`not undone ${f.name}`, `    ! ${f.name} failed: ${f.error}\n`);
      this.once('outcome', `  ${outcome.state === 'completed' ? '✔' : '✖'} ${finalLine(outcome)}\n`);
    } else if (this.out.isTTY && !NO_SPINNER.includes(status.step)) {
      const seconds = ((this.now() - (this.firstSeen.get(status.step) ?? this.now())) / 1000).toFixed(0);
      this.out.write(`  ${SPINNER[this.frame++ % SPINNER.length]} ${status.step} (${seconds} s)`);
    }
  }

  clearSpinner(): void {
    if (this.out.isTTY) this.out.write('\r\x1b[K');
  }

  /** Writes the text the first time its key is seen; says whether it did. */
  private once(key: string, text: string): boolean {
    if (this.printed.has(key)) return false;
    this.printed.add(key);
    this.out.write(text);
    return true;
  }
}

/** Follows the workflow's `status` query until it closes; returns its result (or throws its failure). */
export async function followProgress<T>(handle: WorkflowHandle, options: ProgressOptions = {}): Promise<T> {
  const printer = new ProgressPrinter(options.out ?? process.stdout);
  let closed = false;
  const result = handle.result().finally(() => {
    closed = true;
  }) as Promise<T>;
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  while (!closed) {
    const status = await handle.query<OperationStatus>('status').catch(() => undefined);
    if (status) printer.show(status, options.lines?.(status));
    await Promise.race([settled, new Promise((r) => setTimeout(r, options.intervalMs ?? 500))]);
  }
  // One last look, so steps finished between polls are still listed.
  const final = await handle.query<OperationStatus>('status').catch(() => undefined);
  if (final) printer.show(final, options.lines?.(final));
  printer.clearSpinner();
  return result;
}
