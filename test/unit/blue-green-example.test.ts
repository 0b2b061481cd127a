// examples/rollout-blue-green.yaml is a blue-green rollout the workflow takes for the two-droplet
// shop stack the rollout tests provision (app-1 with nginx in front of app-1 and app-2).
import path from 'node:path';
import { loadRolloutSpec } from '../../src/specs/load-rollout';
import { parseRolloutReleaseInput } from '../../src/specs/rollout-release';

const HOST_KEY = `SHA256:${'A'.repeat(43)}`;

test('the blue-green example parses and names only the stack hosts', () => {
  const spec = loadRolloutSpec(path.join(__dirname, '..', '..', 'examples', 'rollout-blue-green.yaml'));
  const parsed = parseRolloutReleaseInput({
    environment: 'shop',
    hosts: ['app-1', 'app-2'].map((instance, i) => ({ instance, address: `127.0.0.${i + 2}`, hostKey: HOST_KEY })),
    ssh: { user: 'root', port: 22, key: 'deploy' },
    directory: '/opt/shop',
    images: { shop: 'ghcr.io/acme/shop:1.1' },
    healthChecks: [{ name: 'shop', port: 8080, path: '/health' }],
    requestedBy: 'alice',
    spec,
  });
  expect(parsed.fleet).toEqual(['app-1', 'app-2']);
  expect(parsed.spec.blueGreen).toMatchObject({ autoPromotion: { enabled: false }, scaleDownDelay: '10m', previewFleet: { size: 1 } });
});
