// A rollout spec file read for `opsflow rollout --spec`: each problem after the file:line:col of
// its field, as environment specs and backup policies are reported.
import { parseYamlFile } from './load';
import { parseRolloutSpec, type RolloutSpec } from './rollout';

export function loadRolloutSpec(file: string): RolloutSpec {
  return parseYamlFile(file, 'rollout', parseRolloutSpec);
}
