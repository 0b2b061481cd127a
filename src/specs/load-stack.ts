// A stack file (examples/stack-e.yaml): each site's `app` and `data` name environment spec files
// beside it (or hold them inline); each is loaded as `opsflow provision` loads one (its compose
// file inlined, inside the stack file's folder unless `root` says otherwise), then the stack is
// checked whole. The result is provisionStack's input as it goes into history.
import path from 'node:path';
import { SpecError } from './common';
import type { EnvironmentSpec } from './environment';
import { loadEnvironmentSpec, located, readYamlSource, resolveInside, type LoadOptions } from './load';
import { parseStackSpec, type StackSpec } from './stack';

/** True for a document with `sites:` (a stack), so `opsflow provision` knows which workflow it means. */
export function isStackDocument(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'sites' in value;
}

export function loadStackSpec(file: string, options: LoadOptions = {}): StackSpec {
  const source = readYamlSource(file, 'stack');
  const document = source.value as { sites?: unknown } | null;
  const root = options.root ?? path.dirname(path.resolve(file));
  const problems: string[] = [];
  if (document && typeof document.sites === 'object' && document.sites !== null) {
    for (const [site, roles] of Object.entries(document.sites as Record<string, unknown>)) {
      if (typeof roles !== 'object' || roles === null) continue;
      const entry = roles as Record<string, unknown>;
      for (const role of ['app', 'data']) {
        const reference = entry[role];
        if (typeof reference !== 'string') continue;
        const field = `sites.${site}.${role}`;
        try {
          const envFile = resolveInside(file, reference, root, field); // its problems name the field already
          try {
            entry[role] = loadEnvironmentSpec(envFile, { root }) satisfies EnvironmentSpec;
          } catch (err) {
            if (!(err instanceof SpecError)) throw err;
            problems.push(...err.problems.map((p) => `${field} (${reference}): ${p}`));
          }
        } catch (err) {
          if (!(err instanceof SpecError)) throw err;
          problems.push(...err.problems);
        }
      }
    }
  }
  if (problems.length) throw new SpecError('stack', problems);
  try {
    return parseStackSpec(document);
  } catch (err) {
    throw located(err, source);
  }
}
