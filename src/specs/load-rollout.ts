// A rollout spec file read for `opsflow rollout --spec`: each problem after the file:line:col of
// its field, as environment specs and backup policies are reported.
import { SpecError } from './common';
import { readYamlSource } from './load';
import { parseRolloutSpec, type RolloutSpec } from './rollout';

export function loadRolloutSpec(file: string): RolloutSpec {
  const source = readYamlSource(file, 'rollout');
  try {
    return parseRolloutSpec(source.value);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    throw new SpecError(
      err.kind,
      err.problems.map((p, i) => `${source.at(err.paths[i] ?? [])}: ${p}`),
      err.paths,
    );
  }
}
