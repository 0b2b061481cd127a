// `opsflow <args>` parsed in this process with no Temporal server to answer (TEMPORAL_ADDRESS
// points at a closed port for the whole test file), commander's exits thrown instead of ending
// the process and its own output kept quiet: for tests of what a command refuses before it connects.
import type { Command } from 'commander';
import { buildCli } from '../../src/client/cli';

function quietCli(): Command {
  const program = buildCli();
  const quiet = (c: Command) => {
    c.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    c.commands.forEach(quiet);
  };
  quiet(program);
  return program;
}

/** Call at a test file's top level; the returned function runs one command line. */
export function offlineCli(): (...args: string[]) => Promise<Command> {
  // No Temporal answers here, so reaching the server would fail differently: each refusal stops first.
  const savedAddress = process.env.TEMPORAL_ADDRESS;
  beforeAll(() => (process.env.TEMPORAL_ADDRESS = '127.0.0.1:1'));
  afterAll(() => {
    if (savedAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
    else process.env.TEMPORAL_ADDRESS = savedAddress;
  });
  return (...args) => quietCli().parseAsync(args, { from: 'user' });
}
