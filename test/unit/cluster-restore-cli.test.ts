// `opsflow restore-cluster`: what it refuses before it connects (no Temporal answers here), naming
// the choices, and the input it would start restoreClusterBackup with.
import path from 'node:path';
import { offlineCli } from '../helpers/offline-cli';

const run = offlineCli();
const file = path.join(__dirname, '../../examples/backup-stack-d-cluster.yaml');

test('a policy must be chosen among the cluster policies, and each mapping be <backed-up>=<new> of a backed-up namespace', async () => {
  await expect(run('restore-cluster', file, '--namespace', 'shop=shop-restored')).rejects.toThrow(
    'restore-cluster: ' + file + ' has 3 cluster policies (stack-d-cluster, stack-d-config, stack-d-weekly): name one with --policy',
  );
  await expect(run('restore-cluster', file, '--policy', 'stack-d-databases', '--namespace', 'shop=x')).rejects.toThrow(
    'has no cluster policy stack-d-databases (it has stack-d-cluster, stack-d-config, stack-d-weekly)',
  );
  await expect(run('restore-cluster', file, '--policy', 'stack-d-cluster')).rejects.toThrow('--namespace: give at least one');
  await expect(run('restore-cluster', file, '--policy', 'stack-d-cluster', '--namespace', 'shop')).rejects.toThrow(
    '--namespace shop: write it as <backed-up>=<new>',
  );
  await expect(run('restore-cluster', file, '--policy', 'stack-d-cluster', '--namespace', 'kube-system=k')).rejects.toThrow(
    'policy stack-d-cluster backs up shop, monitoring, not kube-system',
  );
  await expect(run('restore-cluster', file, '--policy', 'stack-d-cluster', '--namespace', 'shop=shop')).rejects.toThrow(
    'restore into a new namespace, not over shop itself',
  );
});

test('--print-input prints the workflow input', async () => {
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  try {
    await run(
      'restore-cluster',
      file,
      '--policy',
      'stack-d-config',
      '--namespace',
      'shop=shop-restored',
      '--namespace',
      'monitoring=mon-2',
      '--print-input',
    );
  } finally {
    log.mockRestore();
  }
  const input = JSON.parse(printed[0]!) as { policy: { name: string; resources: { kinds: string[] } }; namespaces: Record<string, string> };
  expect(input.policy.name).toBe('stack-d-config');
  expect(input.policy.resources.kinds).toEqual(['ConfigMap', 'Secret']);
  expect(input.namespaces).toEqual({ shop: 'shop-restored', monitoring: 'mon-2' });
});
