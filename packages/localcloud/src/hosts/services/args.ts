// Option parsing in the style of the docker and systemctl command lines: `-d`, `-it`, `-f FILE`,
// `--file=FILE`, `--` ends options. Every tool declares its options; an unknown one is an error,
// as it is for the real tools, so a typo in a deploy script fails loudly instead of being ignored.
import { UsageError } from './protocol';

/** Option names (`d|detach`) mapped to whether they take a value. The last alias names the option. */
export type OptionSpec = Record<string, boolean>;

export interface ParsedArgs {
  /** Values by option name; a flag without a value appears as ['true']. */
  options: Map<string, string[]>;
  positionals: string[];
}

export function parseArgs(args: string[], spec: OptionSpec, mode: { stopAtPositional?: boolean; usageExit?: number } = {}): ParsedArgs {
  const aliases = new Map<string, { name: string; takesValue: boolean }>();
  for (const [names, takesValue] of Object.entries(spec)) {
    const list = names.split('|');
    const name = list[list.length - 1]!;
    for (const alias of list) aliases.set(alias, { name, takesValue });
  }
  const fail = (message: string): never => {
    throw new UsageError(message, mode.usageExit ?? 1);
  };
  const options = new Map<string, string[]>();
  const add = (name: string, value: string) => options.set(name, [...(options.get(name) ?? []), value]);
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const key = arg.slice(2, eq === -1 ? undefined : eq);
      const option = aliases.get(key) ?? fail(`unknown flag: --${key}`);
      if (!option.takesValue) {
        add(option.name, eq === -1 ? 'true' : arg.slice(eq + 1));
      } else if (eq !== -1) {
        add(option.name, arg.slice(eq + 1));
      } else {
        if (i + 1 >= args.length) fail(`flag needs an argument: --${key}`);
        add(option.name, args[++i]!);
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // Short flags combine (`-it`); one that takes a value takes the rest of the word or the next one.
      for (let j = 1; j < arg.length; j++) {
        const key = arg[j]!;
        const option = aliases.get(key) ?? fail(`unknown shorthand flag: '${key}' in ${arg}`);
        if (!option.takesValue) {
          add(option.name, 'true');
          continue;
        }
        const rest = arg.slice(j + 1).replace(/^=/, '');
        if (rest !== '') add(option.name, rest);
        else if (i + 1 < args.length) add(option.name, args[++i]!);
        else fail(`flag needs an argument: '${key}' in ${arg}`);
        break;
      }
      continue;
    }
    positionals.push(arg);
    if (mode.stopAtPositional) {
      positionals.push(...args.slice(i + 1));
      break;
    }
  }
  return { options, positionals };
}

export function flag(parsed: ParsedArgs, name: string): boolean {
  const values = parsed.options.get(name);
  return values !== undefined && values[values.length - 1] !== 'false';
}

export function lastValue(parsed: ParsedArgs, name: string): string | undefined {
  const values = parsed.options.get(name);
  return values?.[values.length - 1];
}

export function allValues(parsed: ParsedArgs, name: string): string[] {
  return parsed.options.get(name) ?? [];
}
