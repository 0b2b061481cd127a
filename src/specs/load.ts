// Reading spec files: YAML or JSON, with a compose file named by the spec inlined, and every
// problem reported with the file and the field. Files are size-checked before they are read, and
// a compose file must lie inside the spec's folder (or the root the user names).
import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { SECRET_VALUE, SpecError } from './common';
import { parseBackupPolicy, type BackupPolicy } from './backup-policy';
import { isClusterPolicyItem, parseClusterBackupPolicy, type ClusterBackupPolicy } from './cluster-backup-policy';
import { compressionProblem } from './compression-support';
import { MAX_COMPOSE_BYTES, parseEnvironmentSpec, type EnvironmentSpec } from './environment';

/** The largest spec file opsflow reads: specs are small, and YAML costs far more memory than its size. */
export const MAX_SPEC_BYTES = 1024 * 1024;

const errnoOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

/**
 * A file's text, refused at once when it is over `limit` bytes: the size is taken from the open
 * file, and at most limit + 1 bytes are ever read (a FIFO or a growing file cannot slip past).
 */
export function readLimitedText(file: string, limit: number, where: string, kind: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new SpecError(kind, [`${where}: cannot read it (${errnoOf(err)})`]);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new SpecError(kind, [`${where}: not a regular file`]);
    const tooLarge = () =>
      new SpecError(kind, [`${where}: over the limit of ${limit / 1024 / 1024} MiB (${stat.size} bytes), refused without reading it`]);
    if (stat.size > limit) throw tooLarge();
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (let n; length <= limit && (n = readSync(fd, buffer, length, limit + 1 - length, null)) > 0;) length += n;
    if (length > limit) throw tooLarge();
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** A YAML file's value, and where a field of it is written, so a problem names its line. */
export interface YamlSource {
  value: unknown;
  /** `file:line:col` of the field at `path`, or of the nearest part of it that is written. */
  at(path: readonly PropertyKey[]): string;
}

export function readYamlSource(file: string, kind = 'environment'): YamlSource {
  const text = readLimitedText(file, MAX_SPEC_BYTES, file, kind);
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  const error = document.errors[0];
  if (error) {
    // The yaml package's message ends in a code frame (the line, a caret under the column): kept
    // whole, after file:line:col as editors and terminals link it.
    const at = error.linePos ? `:${error.linePos[0].line}:${error.linePos[0].col}` : '';
    throw new SpecError(kind, [`${file}${at}: not valid YAML or JSON: ${error.message.trimEnd()}`]);
  }
  return {
    value: document.toJS(),
    at(path) {
      const place = (node: unknown) => (isNode(node) && node.range ? lineCounter.linePos(node.range[0]) : undefined);
      // The field's key (or list item); a missing field has no place of its own, so the nearest
      // written part of its path is named instead.
      for (let n = path.length; n > 0; n--) {
        const parent = n === 1 ? document.contents : document.getIn(path.slice(0, n - 1), true);
        const last = path[n - 1];
        const found = isMap(parent)
          ? place(parent.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === String(last))?.key)
          : isSeq(parent)
            ? place(parent.items[Number(last)])
            : undefined;
        if (found) return `${file}:${found.line}:${found.col}`;
      }
      const top = place(document.contents);
      return top ? `${file}:${top.line}:${top.col}` : file;
    },
  };
}

export function readYamlFile(file: string, kind = 'environment'): unknown {
  return readYamlSource(file, kind).value;
}

/** A spec's problems, each after the place in the file it is about. */
export function located(err: unknown, source: YamlSource): unknown {
  if (!(err instanceof SpecError)) return err;
  return new SpecError(
    err.kind,
    err.problems.map((p, i) => `${source.at(err.paths[i] ?? [])}: ${p}`),
    err.paths,
  );
}

/** A file read as YAML or JSON and given to `parse`, each problem after the place in the file it is about. */
export function parseYamlFile<T>(file: string, kind: string, parse: (value: unknown) => T): T {
  const source = readYamlSource(file, kind);
  try {
    return parse(source.value);
  } catch (err) {
    throw located(err, source);
  }
}

export interface LoadOptions {
  /** The folder file references must stay in; default: the spec file's own folder. */
  root?: string;
}

/** A file a spec names, resolved against the spec's folder, refused unless it lies inside root (links followed). */
export function resolveInside(specFile: string, reference: string, root: string, field: string): string {
  let real: string;
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch (err) {
    throw new SpecError('environment', [`${field}: the root folder ${root} cannot be read (${errnoOf(err)})`]);
  }
  const wanted = path.resolve(path.dirname(specFile), reference);
  try {
    real = realpathSync(wanted);
  } catch (err) {
    throw new SpecError('environment', [`${field}: cannot read ${wanted} (${errnoOf(err)})`]);
  }
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
    throw new SpecError('environment', [
      `${field}: ${reference} is outside ${realRoot}; files a spec names must be inside the spec's folder (or the folder given with --root)`,
    ]);
  }
  return real;
}

export function loadEnvironmentSpec(file: string, options: LoadOptions = {}): EnvironmentSpec {
  const source = readYamlSource(file);
  let spec: EnvironmentSpec;
  try {
    spec = parseEnvironmentSpec(source.value);
  } catch (err) {
    throw located(err, source);
  }
  const composeFile = spec.application?.composeFile;
  if (spec.application && composeFile && spec.application.compose === undefined) {
    const field = 'application.composeFile';
    const composePath = resolveInside(file, composeFile, options.root ?? path.dirname(path.resolve(file)), field);
    const compose = readLimitedText(composePath, MAX_COMPOSE_BYTES, `${field}: ${composeFile}`, 'environment');
    // Checked here too, so the message names the file the user wrote rather than the inlined field.
    if (SECRET_VALUE.test(compose))
      throw new SpecError('environment', [
        `${field}: ${composeFile} holds what looks like a private key or API token; it would be copied into the workflow's history`,
      ]);
    spec.application.compose = compose;
  }
  return spec;
}

/**
 * A backup policy file: one policy, or several under `policies:`, with an optional `group:` that
 * names the set (default: the file name without extension) for `opsflow schedules apply`. Items
 * with `kind: cluster` are cluster backup policies (cluster-backup-policy.ts), the rest database policies.
 */
export function loadBackupPolicies(file: string): { group: string; policies: BackupPolicy[]; clusterPolicies: ClusterBackupPolicy[] } {
  const source = readYamlSource(file, 'backup policy');
  const document = source.value as { policies?: unknown[]; group?: unknown } | null;
  const group = typeof document?.group === 'string' && document.group ? document.group : path.basename(file).replace(/\.[^.]*$/, '');
  const items = document && Array.isArray(document.policies) ? document.policies : [document];
  if (document && Array.isArray(document.policies)) delete document.group;
  const listed = Boolean(document && Array.isArray(document.policies));
  const problems: string[] = [];
  const paths: PropertyKey[][] = [];
  const clusterPolicies: ClusterBackupPolicy[] = [];
  const policies = items.flatMap((item, i) => {
    const base = listed ? ['policies', i] : [];
    const add = (problem: string, field: readonly PropertyKey[]) => {
      problems.push(`${source.at([...base, ...field])}: ${items.length > 1 ? `policies.${i}.` : ''}${problem}`);
      paths.push([...base, ...field]);
    };
    if (isClusterPolicyItem(item)) {
      try {
        clusterPolicies.push(parseClusterBackupPolicy(item));
      } catch (err) {
        if (!(err instanceof SpecError)) throw err;
        err.problems.forEach((p, j) => add(p, err.paths[j] ?? []));
      }
      return [];
    }
    // Checked here, not in the schema: it depends on the Node running this, which workflows must not.
    const compression = (item as { compression?: unknown } | null)?.compression;
    const unsupported = typeof compression === 'string' ? compressionProblem(compression) : undefined;
    try {
      const policy = parseBackupPolicy(item);
      if (unsupported) add(`compression: ${unsupported}`, ['compression']);
      return unsupported ? [] : [policy];
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      err.problems.forEach((p, j) => add(p, err.paths[j] ?? []));
      if (unsupported) add(`compression: ${unsupported}`, ['compression']);
      return [];
    }
  });
  if (problems.length) throw new SpecError('backup policy', problems, paths);
  return { group, policies, clusterPolicies };
}
