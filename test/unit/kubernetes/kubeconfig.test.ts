// The kubeconfig from the cloud's API is used in memory and never quoted: a broken one is refused
// by where it came from, and one that would run a program or send its token in clear is refused.
import { stringify } from 'yaml';
import { KubernetesClient } from '../../../src/integrations/kubernetes/client';
import { loadKubeconfig } from '../../../src/integrations/kubernetes/kubeconfig';

const TOKEN = 'tok-3f9a1c-secret';
const SOURCE = 'the kubeconfig of cluster c1';

function kubeconfig(server: string, user: Record<string, unknown> = { token: TOKEN }, cluster: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, 'certificate-authority-data': Buffer.from('ca').toString('base64'), ...cluster } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'admin' } }],
    'current-context': 'c',
    users: [{ name: 'admin', user }],
  });
}

test('a valid kubeconfig loads, and a client is made from it without any request', () => {
  const config = loadKubeconfig(kubeconfig('https://127.0.0.1:6443'), SOURCE);
  expect(config.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  expect(KubernetesClient.fromKubeconfig(kubeconfig('https://127.0.0.1:6443'), SOURCE)).toBeInstanceOf(KubernetesClient);
});

test('refusals name the source and never quote the text (its token)', () => {
  const refusals: [string, string][] = [
    [`users: [ { name: admin, user: { token: ${TOKEN} } ]`, 'is not a kubeconfig'],
    [stringify({ apiVersion: 'v1', kind: 'Config', users: [{ name: 'a', user: { token: TOKEN } }] }), 'has no current context'],
    [kubeconfig('http://127.0.0.1:8080'), 'is not https'],
    [kubeconfig('https://127.0.0.1:6443', {}, { 'insecure-skip-tls-verify': true }), 'skips TLS verification'],
    [
      kubeconfig('https://127.0.0.1:6443', {
        exec: { command: 'doctl', args: ['kubernetes'], apiVersion: 'client.authentication.k8s.io/v1beta1' },
      }),
      'runs a program',
    ],
  ];
  for (const [text, expected] of refusals) {
    let message = '';
    try {
      loadKubeconfig(text, SOURCE);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(SOURCE);
    expect(message).toContain(expected);
    expect(message).not.toContain(TOKEN);
  }
});
