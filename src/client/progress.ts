// Live progress of a running workflow for the terminal: each step once it is done, what exists so
// far, and a spinner on the current step when the output is a terminal.
import type { WorkflowHandle } from '@temporalio/client';
import type { OperationStatus } from '../workflows/shared/status';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const END_STATES = ['done', 'rolling back', 'failed', 'cancelled', 'starting'];

export interface ProgressOptions {
  out?: { write(text: string): boolean; isTTY?: boolean };
  intervalMs?: number;
}

class ProgressPrinter {
  private readonly printedSteps = new Set<string>();
  private readonly printedResources = new Set<string>();
  private readonly firstSeen = new Map<string, number>();
  private frame = 0;

  constructor(private readonly out: { write(text: string): boolean; isTTY?: boolean }) {}

  show(status: OperationStatus): void {
    this.clearSpinner();
    for (const step of status.completedSteps) {
      if (this.printedSteps.has(step)) continue;
      this.printedSteps.add(step);
      const since = this.firstSeen.get(step);
      this.out.write(`  ✔ ${step}${since ? ` (${((Date.now() - since) / 1000).toFixed(1)} s)` : ''}\n`);
    }
    for (const r of status.resources) {
      const key = `${r.kind}/${r.id}`;
      if (this.printedResources.has(key)) continue;
      this.printedResources.add(key);
      this.out.write(`    + ${r.kind} ${r.name ? `${r.name} ` : ''}${r.id}\n`);
    }
    if (!this.firstSeen.has(status.step)) this.firstSeen.set(status.step, Date.now());
    if (status.step === 'rolling back') this.out.write('  ↺ rolling back\n');
    else if (this.out.isTTY && !END_STATES.includes(status.step)) {
      const seconds = ((Date.now() - (this.firstSeen.get(status.step) ?? Date.now())) / 1000).toFixed(0);
      this.out.write(`  ${SPINNER[this.frame++ % SPINNER.length]} ${status.step} (${seconds} s)`);
    }
  }

  clearSpinner(): void {
    if (this.out.isTTY) this.out.write('\r\x1b[K');
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
    if (status) printer.show(status);
    await Promise.race([settled, new Promise((r) => setTimeout(r, options.intervalMs ?? 500))]);
  }
  // One last look, so steps finished between polls are still listed.
  const final = await handle.query<OperationStatus>('status').catch(() => undefined);
  if (final) printer.show(final);
  printer.clearSpinner();
  return result;
}
