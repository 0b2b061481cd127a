// Reading spec files: YAML or JSON, with a compose file named by the spec inlined, and every
// problem reported with the file and the field.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { SpecError } from './common';
import { parseBackupPolicy, type BackupPolicy } from './backup-policy';
import { parseEnvironmentSpec, type EnvironmentSpec } from './environment';

export function readYamlFile(file: string, kind = 'environment'): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SpecError(kind, [`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  try {
    return parse(text);
  } catch (err) {
    throw new SpecError(kind, [`${file}: not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
}

export function loadEnvironmentSpec(file: string): EnvironmentSpec {
  const spec = parseEnvironmentSpec(readYamlFile(file));
  const composeFile = spec.application?.composeFile;
  if (spec.application && composeFile && spec.application.compose === undefined) {
    const composePath = path.resolve(path.dirname(file), composeFile);
    try {
      spec.application.compose = readFileSync(composePath, 'utf8');
    } catch {
      throw new SpecError('environment', [`application.composeFile: cannot read ${composePath}`]);
    }
  }
  return spec;
}

/**
 * A backup policy file: one policy, or several under `policies:`, with an optional `group:` that
 * names the set (default: the file name without extension) for `opsflow schedules apply`.
 */
export function loadBackupPolicies(file: string): { group: string; policies: BackupPolicy[] } {
  const document = readYamlFile(file, 'backup policy') as { policies?: unknown[]; group?: unknown } | null;
  const group = typeof document?.group === 'string' && document.group ? document.group : path.basename(file).replace(/\.[^.]*$/, '');
  const items = document && Array.isArray(document.policies) ? document.policies : [document];
  if (document && Array.isArray(document.policies)) delete document.group;
  const problems: string[] = [];
  const policies = items.flatMap((item, i) => {
    try {
      return [parseBackupPolicy(item)];
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      problems.push(...err.problems.map((p) => (items.length > 1 ? `policies.${i}.${p}` : p)));
      return [];
    }
  });
  if (problems.length) throw new SpecError('backup policy', problems.map((p) => `${path.basename(file)}: ${p}`));
  return { group, policies };
}
