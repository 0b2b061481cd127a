// systemd unit files as a droplet has them in /etc/systemd/system: the [Unit], [Service] and
// [Install] settings a deploy script writes (ExecStart, ExecStartPre, ExecStop, Environment,
// ExecReload, EnvironmentFile, WorkingDirectory, User, Type, RemainAfterExit, Restart, RestartSec, WantedBy).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { hostPath, type DropletSandbox } from '../sandbox';
import { parseEnvFile } from './interpolate';
import { splitWords } from './words';

export const UNIT_DIR = '/etc/systemd/system';

export interface ExecLine {
  argv: string[];
  /** `-` prefix: a failure is ignored. */
  ignoreFailure: boolean;
}

export interface UnitFile {
  name: string;
  /** In-droplet path. */
  path: string;
  description: string;
  execStart: ExecLine[];
  execStartPre: ExecLine[];
  execStop: ExecLine[];
  execReload: ExecLine[];
  environment: Record<string, string>;
  environmentFiles: { path: string; optional: boolean }[];
  workingDirectory?: string;
  user?: string;
  type: string;
  remainAfterExit: boolean;
  restart: string;
  restartMs: number;
  wantedBy: string[];
}

export class UnitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** `app` → `app.service`; other unit types are refused. */
export function unitName(name: string): string {
  if (!/^[A-Za-z0-9:_.@-]+$/.test(name)) throw new UnitError(`Invalid unit name "${name}"`, 1);
  const full = /\.[a-z]+$/.test(name) ? name : `${name}.service`;
  if (!full.endsWith('.service')) throw new UnitError(`Unit ${full}: only .service units are supported in a local cloud droplet`, 1);
  return full;
}

export function unitPath(name: string): string {
  return path.posix.join(UNIT_DIR, name);
}

export function unitExists(sandbox: DropletSandbox, name: string): boolean {
  return existsSync(hostPath(sandbox, unitPath(name)));
}

export function readUnit(sandbox: DropletSandbox, name: string): UnitFile | undefined {
  const file = hostPath(sandbox, unitPath(name));
  if (!existsSync(file)) return undefined;
  const settings = parseIni(readFileSync(file, 'utf8'));
  const all = (section: string, key: string) => settings.filter((s) => s.section === section && s.key === key).map((s) => s.value);
  const last = (section: string, key: string) => all(section, key).pop();
  const environment: Record<string, string> = {};
  for (const value of all('Service', 'Environment')) {
    for (const word of splitWords(value)) {
      const eq = word.indexOf('=');
      if (eq > 0) environment[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return {
    name,
    path: unitPath(name),
    description: last('Unit', 'Description') ?? name,
    execStart: execLines(all('Service', 'ExecStart')),
    execStartPre: execLines(all('Service', 'ExecStartPre')),
    execStop: execLines(all('Service', 'ExecStop')),
    execReload: execLines(all('Service', 'ExecReload')),
    environment,
    environmentFiles: all('Service', 'EnvironmentFile')
      .filter(Boolean)
      .map((value) => ({ path: value.replace(/^-/, ''), optional: value.startsWith('-') })),
    workingDirectory: last('Service', 'WorkingDirectory'),
    user: last('Service', 'User'),
    type: last('Service', 'Type') ?? 'simple',
    remainAfterExit: /^(yes|true|1|on)$/i.test(last('Service', 'RemainAfterExit') ?? ''),
    restart: last('Service', 'Restart') ?? 'no',
    restartMs: duration(last('Service', 'RestartSec') ?? '100ms'),
    wantedBy: all('Install', 'WantedBy')
      .flatMap((value) => value.split(/\s+/))
      .filter(Boolean),
  };
}

/** The environment a unit's commands get: the droplet's, Environment=, then EnvironmentFile=. */
export function unitEnvironment(sandbox: DropletSandbox, unit: UnitFile, base: Record<string, string>): Record<string, string> {
  const env = { ...base, ...unit.environment };
  for (const file of unit.environmentFiles) {
    const host = hostPath(sandbox, file.path);
    if (!existsSync(host)) {
      if (file.optional) continue;
      throw new UnitError(`Failed to load environment files: ${file.path}: No such file or directory`, 1);
    }
    Object.assign(
      env,
      parseEnvFile(readFileSync(host, 'utf8'), () => undefined, file.path),
    );
  }
  return env;
}

/** systemd's expansion in command lines: ${VAR} inside a word, $VAR alone splits into words. */
export function expandCommand(argv: string[], env: Record<string, string>): string[] {
  return argv.flatMap((word) => {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (whole) return (env[whole[1]!] ?? '').split(/\s+/).filter(Boolean);
    return [word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => env[name] ?? '').replace(/\$\$/g, '$')];
  });
}

function execLines(values: string[]): ExecLine[] {
  const lines: ExecLine[] = [];
  for (const value of values) {
    if (value.trim() === '') {
      lines.length = 0; // an empty assignment resets the list
      continue;
    }
    const prefix = /^[-@:+!]*/.exec(value)![0];
    const argv = splitWords(value.slice(prefix.length));
    if (argv.length > 0) lines.push({ argv, ignoreFailure: prefix.includes('-') });
  }
  return lines;
}

function parseIni(text: string): { section: string; key: string; value: string }[] {
  const settings: { section: string; key: string; value: string }[] = [];
  let section = '';
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq === -1) continue;
    settings.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return settings;
}

/** systemd time spans: 5, 5s, 500ms, 1min, 2h. */
function duration(text: string): number {
  let total = 0;
  const units: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, hr: 3_600_000 };
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)/g)) total += Number(match[1]) * (units[match[2] || 's'] ?? 1000);
  return total;
}
