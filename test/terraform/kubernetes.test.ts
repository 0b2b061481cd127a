// The Terraform tier, DOKS: DigitalOcean's own provider creates a Kubernetes cluster with a second
// node pool in the local cloud (configs/kubernetes/main.tf), where each cluster is a real control
// plane on this machine. A second plan must find nothing to change; a resize of the pool must apply
// and plan clean too, and the cluster's own API server must then list every node Terraform asked
// for; destroy must leave no cluster and no process of it. Skipped, saying why, without the
// provider binary or terraform (as every-resource.test.ts).
import { execFile } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LocalCloud, LoggedRequest } from '@opsflow/localcloud';
import { resolveKubePlaneBinaries } from '../../packages/localcloud/src/kubernetes/plane-binaries';
import { startLocalCloud } from '../helpers/localcloud';
import { tempDir } from '../helpers/temp';
import { findTerraformSetup, plannedChanges, terraformIn } from '../helpers/terraform';
import { until } from '../helpers/until';
import { processesUsing } from '../helpers/processes';

const run = promisify(execFile);
const setup = findTerraformSetup();
if (!setup.ok) console.warn(`Terraform tier (DOKS) skipped: ${setup.reason}`);
const tier = setup.ok ? describe : describe.skip;

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function get(cloud: LocalCloud, url: string): Promise<Body> {
  const response = await fetch(`${cloud.apiUrl}${url}`, { headers: { Authorization: `Bearer ${cloud.token}` } });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return (await response.json()) as Body;
}

/** Refusals: anything but the 404s a provider reads while it waits for a deletion to finish. */
const refusals = (requests: LoggedRequest[]) =>
  requests.filter((r) => r.status >= 400 && !(r.status === 404 && r.method === 'GET')).map((r) => `${r.status} ${r.method} ${r.url}`);

tier(`Terraform with DigitalOcean's provider: a DOKS cluster in the local cloud${setup.ok ? '' : ` (skipped: ${setup.reason})`}`, () => {
  test('a cluster and a node pool: apply, a second plan with no changes, a resize the cluster sees, destroy leaving nothing', async () => {
    if (!setup.ok) return;
    const binDir = await resolveKubePlaneBinaries().binDir;
    const { cloud, stateDir } = await startLocalCloud({ sshHosts: false, kubernetes: { binDir } });
    const work = tempDir('terraform-doks');
    try {
      copyFileSync(path.join(__dirname, 'configs', 'kubernetes', 'main.tf'), path.join(work, 'main.tf'));
      const terraform = terraformIn(setup, work, cloud, { name: 'tfk' });

      const apply = await terraform.run(['apply', '-auto-approve']);
      expect({ code: apply.code, output: apply.code === 0 ? '' : apply.output }).toEqual({ code: 0, output: '' });
      const [cluster] = (await get(cloud, '/v2/kubernetes/clusters')).kubernetes_clusters as Body[];
      expect(cluster).toMatchObject({ name: 'tfk-k8s', region: 'fra1', status: { state: 'running' } });
      expect(cluster!.tags).toEqual(expect.arrayContaining(['tfk-env']));
      const pools = () => get(cloud, `/v2/kubernetes/clusters/${cluster!.id}/node_pools`).then((b) => b.node_pools as Body[]);
      expect((await pools()).map((p) => [p.name, p.count, p.nodes.length]).sort()).toEqual([
        ['tfk-default', 1, 1],
        ['tfk-workers', 1, 1],
      ]);

      // Exit code 0: no changes. 2 would list what the provider read back differently than it wrote.
      const plan = await terraform.run(['plan', '-detailed-exitcode']);
      expect({ code: plan.code, changes: plannedChanges(plan.output), output: plan.code === 0 ? '' : plan.output }).toEqual({
        code: 0,
        changes: [],
        output: '',
      });

      const resized = terraformIn(setup, work, cloud, { name: 'tfk', workers: '2' });
      const update = await resized.run(['apply', '-auto-approve']);
      expect({ code: update.code, output: update.code === 0 ? '' : update.output }).toEqual({ code: 0, output: '' });
      expect(plannedChanges(update.output)).toEqual(['digitalocean_kubernetes_node_pool.workers updated in-place']);
      const replan = await resized.run(['plan', '-detailed-exitcode']);
      expect({ code: replan.code, changes: plannedChanges(replan.output), output: replan.code === 0 ? '' : replan.output }).toEqual({
        code: 0,
        changes: [],
        output: '',
      });

      // The cluster's own API server, through the kubeconfig the API hands out, registers every node asked for.
      const kubeconfigResponse = await fetch(`${cloud.apiUrl}/v2/kubernetes/clusters/${cluster!.id}/kubeconfig`, {
        headers: { Authorization: `Bearer ${cloud.token}` },
      });
      const kubeconfig = path.join(work, 'kubeconfig.yaml');
      writeFileSync(kubeconfig, await kubeconfigResponse.text(), { mode: 0o600 });
      const nodeNames = async () => {
        const { stdout } = await run(path.join(binDir, 'kubectl'), ['--kubeconfig', kubeconfig, 'get', 'nodes', '-o', 'json'], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work }, // kubectl's cache goes in ~/.kube
        });
        return (JSON.parse(stdout).items as Body[]).map((n) => n.metadata.name as string).sort();
      };
      const expected = (await pools()).flatMap((p) => (p.nodes as Body[]).map((n) => n.name as string)).sort();
      expect(expected).toHaveLength(3);
      expect(
        await until('the API server to list the 3 nodes', async () => ((await nodeNames()).length === 3 ? true : undefined), 120_000),
      ).toBe(true);
      expect(await nodeNames()).toEqual(expected);

      const destroy = await resized.run(['destroy', '-auto-approve']);
      expect({ code: destroy.code, output: destroy.code === 0 ? '' : destroy.output }).toEqual({ code: 0, output: '' });
      expect((await get(cloud, '/v2/kubernetes/clusters')).kubernetes_clusters).toEqual([]);
      expect(processesUsing(path.join(stateDir, 'kubernetes', cluster!.id))).toEqual([]);
      const { requests } = cloud.requestLog.list();
      expect(refusals(requests)).toEqual([]);
      console.log(
        `Terraform tier (DOKS): ${requests.length} requests; apply ${(apply.ms / 1000).toFixed(1)} s, resize ${(update.ms / 1000).toFixed(1)} s, destroy ${(destroy.ms / 1000).toFixed(1)} s`,
      );
    } finally {
      await cloud.stop();
    }
  }, 900_000);
});
