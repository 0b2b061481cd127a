// A kubeconfig as the worker receives it from the cloud's API: loaded into client-node's KubeConfig,
// in memory only. It holds a bearer token, so nothing here quotes it: a YAML error says where the
// kubeconfig came from, never its text. Users that run a program (exec, auth-provider) are refused:
// a kubeconfig from an API must not make the worker start a process.
import { KubeConfig } from '@kubernetes/client-node';
import { KubeconfigProblem } from './errors';

export { KubeconfigProblem };

/** `source` names where the text came from ("the kubeconfig of DOKS cluster <id>"), for errors. */
export function loadKubeconfig(text: string, source: string): KubeConfig {
  const config = new KubeConfig();
  try {
    config.loadFromString(text);
  } catch {
    // The parser's message may quote the text, token included.
    throw new KubeconfigProblem(`${source} is not a kubeconfig (it does not parse as YAML with clusters, contexts and users)`);
  }
  const cluster = config.getCurrentCluster();
  const user = config.getCurrentUser();
  if (!cluster || !user) throw new KubeconfigProblem(`${source} has no current context with a cluster and a user`);
  if (user.exec || user.authProvider)
    throw new KubeconfigProblem(`${source}: user ${user.name} runs a program to get credentials; opsflow does not run one`);
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw new KubeconfigProblem(`${source}: cluster ${cluster.name} has no valid server URL`);
  }
  // The token goes with every request.
  if (url.protocol !== 'https:') throw new KubeconfigProblem(`${source}: cluster ${cluster.name}'s server ${url.origin} is not https`);
  if (cluster.skipTLSVerify) throw new KubeconfigProblem(`${source}: cluster ${cluster.name} skips TLS verification`);
  return config;
}
