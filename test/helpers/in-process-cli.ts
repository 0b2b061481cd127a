// `opsflow <args>` run in the test's own process (buildCli, output captured), for the CLI tests
// against a real server. What each call prints is kept apart even while one follows a run in the
// background: console.log and stdout go to the calling command's own list (anything else passes
// through). Call `captureCliOutput()` at the top of a test file: it installs the spies in a
// beforeAll and removes them (and puts TEMPORAL_ADDRESS/NAMESPACE back) in an afterAll;
// `pointCliAt(env)` once the test's server runs.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildCli } from '../../src/client/cli';
import { describeFailure } from '../../src/client/failure-text';

const sink = new AsyncLocalStorage<string[]>();

export function captureCliOutput(): void {
  const realLog = console.log.bind(console);
  const realWrite = process.stdout.write.bind(process.stdout) as (text: string) => boolean;
  let spies: jest.SpyInstance[] = [];
  beforeAll(() => {
    spies = [
      jest.spyOn(console, 'log').mockImplementation((...line: unknown[]) => {
        const store = sink.getStore();
        if (store) store.push(`${line.join(' ')}\n`);
        else realLog(...line);
      }),
      jest.spyOn(process.stdout, 'write').mockImplementation((text: string | Uint8Array) => {
        const store = sink.getStore();
        if (store) return store.push(String(text)) > 0;
        return realWrite(String(text));
      }),
    ];
  });
  const saved = { address: process.env.TEMPORAL_ADDRESS, namespace: process.env.TEMPORAL_NAMESPACE };
  afterAll(() => {
    spies.forEach((s) => s.mockRestore());
    restore('TEMPORAL_ADDRESS', saved.address);
    restore('TEMPORAL_NAMESPACE', saved.namespace);
  });
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** The CLI talks to the test's server. */
export function pointCliAt(env: TestWorkflowEnvironment): void {
  process.env.TEMPORAL_ADDRESS = env.address;
  process.env.TEMPORAL_NAMESPACE = env.namespace ?? 'default';
}

/** Runs `opsflow <args>` in this process; what it printed, and the error it ended with. */
export async function opsflow(...args: string[]): Promise<{ out: string; error?: string }> {
  return opsflowInto([], ...args);
}

/** The same, printing into `printed` as it goes (to watch a command that follows a run). */
export async function opsflowInto(printed: string[], ...args: string[]): Promise<{ out: string; error?: string }> {
  return sink.run(printed, async () => {
    try {
      await buildCli().parseAsync(args, { from: 'user' });
      return { out: printed.join('') };
    } catch (err) {
      return { out: printed.join(''), error: describeFailure(err) };
    }
  });
}
