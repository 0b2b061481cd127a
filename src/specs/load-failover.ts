// A failoverSite input file read for `opsflow failover --input`: YAML or JSON, checked with the
// workflow's own parser, each problem after the file:line:col of its field. Secret references are
// kept as written (the worker resolves them); no value is read from them here.
import { SpecError } from './common';
import { parseFailoverSiteInput, type FailoverSite } from './failover';
import { readYamlSource } from './load';

export function loadFailoverInput(file: string): FailoverSite {
  const source = readYamlSource(file, 'failoverSite input');
  try {
    return parseFailoverSiteInput(source.value);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    throw new SpecError(
      err.kind,
      err.problems.map((p, i) => `${source.at(err.paths[i] ?? [])}: ${p}`),
      err.paths,
    );
  }
}
