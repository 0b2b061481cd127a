// `opsflow provision` for a Kubernetes environment (a spec with a `kubernetes:` section, such as
// examples/stack-d.yaml): the spec and every manifest it names checked here, then provisionCluster
// started under the environment's provision workflow id and followed until it ends.
import { provisionWorkflowId } from '../names/workflow-ids';
import { loadClusterEnvironment } from './load-cluster';
import type { ProvisionClusterResult } from '../workflows/kubernetes/provision-cluster';
import { startOperation, withClient } from './opsflow-client';
import { followProgress } from './progress';

export interface ProvisionClusterOptions {
  detach?: boolean;
  printInput?: boolean;
  root?: string;
}

export async function provisionClusterCommand(file: string, opts: ProvisionClusterOptions): Promise<void> {
  const input = loadClusterEnvironment(file, { root: opts.root }); // refuses a bad spec or manifest before anything starts
  if (opts.printInput) {
    console.log(JSON.stringify(input));
    return;
  }
  await withClient(async (client) => {
    const { cluster } = input;
    const handle = await startOperation(
      client,
      'provisionCluster',
      provisionWorkflowId(input.environment),
      [input],
      `provision Kubernetes cluster ${cluster.name} in ${cluster.region} (${input.manifests.length} objects)`,
      undefined,
      { environment: input.environment, operation: 'provision', specFile: file },
    );
    console.log(`Provisioning ${input.environment} (Kubernetes): workflow ${handle.workflowId}`);
    if (opts.detach) return;
    console.log(formatClusterResult(input.environment, await followProgress<ProvisionClusterResult>(handle)));
  });
}

export function formatClusterResult(environment: string, result: ProvisionClusterResult): string {
  return [
    `${environment}: cluster ${result.clusterId} running`,
    `Deployments rolled out (${result.deployments.length}): ${result.deployments.join(', ')}`,
    `Its kubeconfig: GET /v2/kubernetes/clusters/${result.clusterId}/kubeconfig (doctl kubernetes cluster kubeconfig save ${environment})`,
  ].join('\n');
}
