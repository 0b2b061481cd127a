// The `systemctl` command inside a droplet: daemon-reload, enable/disable [--now], start, stop,
// restart, reload, status, is-active, is-enabled, is-failed, show, list-units, list-unit-files,
// with systemctl's exit statuses (is-active 0/3, status 0/3/4, unknown unit 5 on start).
import { existsSync, readdirSync } from 'node:fs';
import { hostPath, type DropletSandbox } from '../sandbox';
import { flag, lastValue, parseArgs } from './args';
import { humanDuration, table } from './format';
import { writeLog } from './logs';
import { UsageError, type Invocation, type Outcome } from './protocol';
import { BUILTIN_UNITS, type Units } from './units';
import { readUnit, unitExists, unitName, UnitError, UNIT_DIR } from './unit-file';

const OPTIONS = {
  now: false,
  'q|quiet': false,
  'no-pager': false,
  'no-block': false,
  'no-legend': false,
  plain: false,
  'l|full': false,
  'a|all': false,
  't|type': true,
  state: true,
  'p|property': true,
  value: false,
  system: false,
  'n|lines': true,
  'f|force': false,
  'no-ask-password': false,
};

export async function systemctlCommand(
  inv: Invocation,
  units: Units,
  sandbox: DropletSandbox,
  exclusive: <T>(task: () => Promise<T>) => Promise<T>,
): Promise<Outcome> {
  try {
    const parsed = parseArgs(inv.request.args, OPTIONS, {});
    const [verb, ...names] = parsed.positionals;
    const quiet = flag(parsed, 'quiet');
    const each = async (action: (name: string) => Promise<void> | void) => {
      if (names.length === 0) throw new UsageError('Too few arguments.', 1);
      for (const name of names) await action(unitName(name));
    };
    // Changes wait for one another; queries do not.
    const change = (action: (name: string) => Promise<void> | void) => exclusive(() => each(action));
    switch (verb) {
      case undefined:
      case 'list-units':
        return listUnits(inv, units, sandbox, lastValue(parsed, 'state'));
      case 'list-unit-files':
        return listUnitFiles(inv, units, sandbox);
      case 'daemon-reload':
      case 'daemon-reexec':
        return 0;
      case 'start':
        await change((name) => units.start(name));
        return 0;
      case 'stop':
        await change((name) => units.stop(name));
        return 0;
      case 'reload':
        await change((name) => units.reload(name));
        return 0;
      case 'reload-or-restart':
        await change((name) => (units.status(name).state === 'active' ? units.reload(name) : units.restart(name)));
        return 0;
      case 'restart':
      case 'try-restart':
        await change(async (name) => {
          if (verb === 'try-restart' && units.status(name).state !== 'active') return;
          if (!BUILTIN_UNITS.has(name) && !unitExists(sandbox, name)) throw new UnitError(`Unit ${name} not found.`, 5);
          await units.restart(name);
        });
        return 0;
      case 'enable':
        await change(async (name) => {
          for (const line of units.enable(name)) inv.io.err(`${line}\n`);
          if (flag(parsed, 'now')) await units.start(name);
        });
        return 0;
      case 'disable':
        await change(async (name) => {
          for (const line of units.disable(name)) inv.io.err(`${line}\n`);
          if (flag(parsed, 'now')) await units.stop(name);
        });
        return 0;
      case 'is-active':
      case 'is-failed': {
        let all = true;
        await each((name) => {
          const state = units.status(name).state;
          if (!quiet) inv.io.out(`${state}\n`);
          if (verb === 'is-active' ? state !== 'active' : state !== 'failed') all = false;
        });
        return all ? 0 : verb === 'is-active' ? 3 : 1;
      }
      case 'is-enabled': {
        let all = true;
        await each((name) => {
          if (!BUILTIN_UNITS.has(name) && !unitExists(sandbox, name)) {
            inv.io.err(`Failed to get unit file state for ${name}: No such file or directory\n`);
            all = false;
            return;
          }
          const enabled = units.isEnabled(name);
          if (!quiet) inv.io.out(`${enabled ? 'enabled' : 'disabled'}\n`);
          if (!enabled) all = false;
        });
        return all ? 0 : 1;
      }
      case 'status':
        return await status(inv, units, sandbox, names.map(unitName), Number(lastValue(parsed, 'lines') ?? 10));
      case 'show':
        return show(inv, units, sandbox, names.map(unitName), lastValue(parsed, 'property'), flag(parsed, 'value'));
      default:
        throw new UsageError(`Unknown command verb '${verb}'.`, 1);
    }
  } catch (error) {
    if (error instanceof UnitError) {
      const message =
        error.exitCode === 5
          ? `Failed to ${inv.request.args.find((arg) => !arg.startsWith('-'))} ${error.message.replace(/^Unit (\S+) not found\.$/, '$1: Unit $1 not found.')}`
          : error.message;
      inv.io.err(`${message}\n`);
      return error.exitCode;
    }
    if (error instanceof UsageError) {
      inv.io.err(`${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

async function status(inv: Invocation, units: Units, sandbox: DropletSandbox, names: string[], lines: number): Promise<Outcome> {
  if (names.length === 0) {
    inv.io.out(`● ${sandbox.name}\n    State: running\n`);
    return 0;
  }
  let code = 0;
  for (const name of names) {
    const builtin = BUILTIN_UNITS.has(name);
    const unit = readUnit(sandbox, name);
    if (!unit && !builtin) {
      inv.io.err(`Unit ${name} could not be found.\n`);
      code = Math.max(code, 4);
      continue;
    }
    const s = units.status(name);
    const dot = s.state === 'active' ? '●' : s.state === 'failed' ? '×' : '○';
    const since =
      s.since.getTime() > 0 ? ` since ${systemdTime(s.since)}; ${humanDuration(Date.now() - s.since.getTime()).toLowerCase()} ago` : '';
    const detail = s.state === 'failed' ? `failed (Result: ${s.result ?? 'exit-code'})` : `${s.state} (${s.sub})`;
    inv.io.out(`${dot} ${name} - ${unit?.description ?? name}\n`);
    inv.io.out(
      `     Loaded: loaded (${unit?.path ?? `/lib/systemd/system/${name}`}; ${units.isEnabled(name) ? 'enabled' : 'disabled'}; preset: enabled)\n`,
    );
    inv.io.out(`     Active: ${detail}${since}\n`);
    if (s.mainPid && s.state === 'active')
      inv.io.out(`   Main PID: ${s.mainPid} (${unit?.execStart[0]?.argv[0]?.split('/').pop() ?? name})\n`);
    if (s.state === 'failed' && s.exitCode !== undefined)
      inv.io.out(`    Process: ExecStart=${unit?.execStart[0]?.argv.join(' ') ?? ''} (code=exited, status=${s.exitCode})\n`);
    if (!builtin) {
      inv.io.out('\n');
      await writeLog(inv.io, units.logFile(name), { tail: lines, follow: false, signal: inv.signal, running: () => false });
    }
    if (s.state !== 'active') code = Math.max(code, 3);
  }
  return code;
}

function show(
  inv: Invocation,
  units: Units,
  sandbox: DropletSandbox,
  names: string[],
  property: string | undefined,
  valueOnly: boolean,
): Outcome {
  for (const name of names) {
    const s = units.status(name);
    const known = BUILTIN_UNITS.has(name) || unitExists(sandbox, name);
    const properties: Record<string, string> = {
      Id: name,
      LoadState: known ? 'loaded' : 'not-found',
      ActiveState: s.state,
      SubState: s.sub,
      MainPID: String(s.state === 'active' ? (s.mainPid ?? 0) : 0),
      UnitFileState: known ? (units.isEnabled(name) ? 'enabled' : 'disabled') : '',
      ExecMainStatus: String(s.exitCode ?? 0),
      NRestarts: String(s.restarts),
      Result: s.result ?? 'success',
    };
    const wanted = property ? property.split(',') : Object.keys(properties);
    for (const key of wanted) inv.io.out(valueOnly ? `${properties[key] ?? ''}\n` : `${key}=${properties[key] ?? ''}\n`);
  }
  return 0;
}

function unitFiles(sandbox: DropletSandbox): string[] {
  const dir = hostPath(sandbox, UNIT_DIR);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((file) => file.endsWith('.service'))
        .sort()
    : [];
}

function listUnits(inv: Invocation, units: Units, sandbox: DropletSandbox, state: string | undefined): Outcome {
  const names = [...new Set([...BUILTIN_UNITS, ...unitFiles(sandbox)])].sort();
  const rows = names
    .map((name) => ({ name, status: units.status(name), description: readUnit(sandbox, name)?.description ?? name }))
    .filter((row) => !state || state.split(',').some((wanted) => wanted === row.status.state || wanted === row.status.sub))
    .map((row) => [row.name, 'loaded', row.status.state, row.status.sub, row.description]);
  inv.io.out(table(['UNIT', 'LOAD', 'ACTIVE', 'SUB', 'DESCRIPTION'], rows));
  inv.io.out(`\n${rows.length} loaded units listed.\n`);
  return 0;
}

function listUnitFiles(inv: Invocation, units: Units, sandbox: DropletSandbox): Outcome {
  const names = [...new Set([...BUILTIN_UNITS, ...unitFiles(sandbox)])].sort();
  inv.io.out(
    table(
      ['UNIT FILE', 'STATE'],
      names.map((name) => [name, units.isEnabled(name) ? 'enabled' : 'disabled']),
    ),
  );
  inv.io.out(`\n${names.length} unit files listed.\n`);
  return 0;
}

/** "Sun 2026-11-22 22:15:56 UTC", as systemctl status prints times. */
function systemdTime(date: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][date.getUTCDay()];
  return `${day} ${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
