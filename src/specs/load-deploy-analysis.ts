// A deploy analysis file read for `opsflow deploy --analysis`: each problem after the
// file:line:col of its field, as every spec file is reported.
import { parseDeployAnalysis, type DeployAnalysis } from './deploy-analysis';
import { located, readYamlSource } from './load';

export function loadDeployAnalysis(file: string): DeployAnalysis {
  const source = readYamlSource(file, 'deploy analysis');
  try {
    return parseDeployAnalysis(source.value);
  } catch (err) {
    throw located(err, source);
  }
}
