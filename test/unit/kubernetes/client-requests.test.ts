// What the client sends, recorded by an HTTPS server with a certificate from its own CA: the
// kubeconfig's CA pins the server and its token goes as a bearer token; server-side apply is a PATCH
// of application/apply-patch+yaml with fieldManager=opsflow, force=false and strict validation, its
// body the manifest verbatim (a field no model knows included, so the API server can refuse it);
// a refusal comes back naming the object and the field. (The same calls against a real API server:
// test/activities/kubernetes/doks-activities.test.ts.)
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { ensureClusterPki } from '../../../packages/localcloud/src/kubernetes/pki';
import { KubernetesClient } from '../../../src/integrations/kubernetes/client';
import { KubernetesRequestError } from '../../../src/integrations/kubernetes/errors';
import { tempDir } from '../../helpers/temp';

interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  authorization?: string;
  body?: unknown;
}

const TOKEN = 'recorded-token-0123456789';
const recorded: Recorded[] = [];
let server: Server;
let caPem: string;
let url: string;

const RESOURCES: Record<string, unknown> = {
  '/apis/apps/v1': { kind: 'APIResourceList', resources: [{ name: 'deployments', kind: 'Deployment', namespaced: true }] },
  '/api/v1': {
    kind: 'APIResourceList',
    resources: [
      { name: 'namespaces', kind: 'Namespace', namespaced: false },
      { name: 'services', kind: 'Service', namespaced: true },
    ],
  },
};

beforeAll(async () => {
  const pki = await ensureClusterPki(tempDir('kube-client'), '10.96.0.1');
  caPem = pki.caPem;
  server = createServer({ cert: readFileSync(pki.servingCertFile), key: readFileSync(pki.servingKeyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'https://x');
      const text = Buffer.concat(chunks).toString();
      recorded.push({
        method: req.method ?? '',
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        body: text ? JSON.parse(text) : undefined,
      });
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (RESOURCES[u.pathname]) return reply(200, RESOURCES[u.pathname]);
      if (u.pathname.endsWith('/deployments/bad'))
        return reply(422, {
          kind: 'Status',
          code: 422,
          reason: 'Invalid',
          message: 'Deployment.apps "bad" is invalid: spec.replicas: Invalid value: -1',
          details: { name: 'bad', kind: 'deployments', causes: [{ field: 'spec.replicas', reason: 'FieldValueInvalid' }] },
        });
      if (req.method === 'GET' || req.method === 'DELETE')
        return reply(404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'not found' });
      return reply(200, { ...(recorded.at(-1)?.body as object), metadata: { name: 'web', resourceVersion: '7', generation: 1 } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server?.close(() => resolve())));

function client(ca = caPem): KubernetesClient {
  const kubeconfig = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: url, 'certificate-authority-data': Buffer.from(ca).toString('base64') } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'admin' } }],
    'current-context': 'c',
    users: [{ name: 'admin', user: { token: TOKEN } }],
  });
  return KubernetesClient.fromKubeconfig(kubeconfig, 'the test kubeconfig');
}

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { replicas: 3, replicaz: 4, template: { spec: { containers: [{ name: 'web', image: 'web:1' }] } } },
};

test('server-side apply sends the manifest verbatim as the opsflow field manager, with the bearer token, over the pinned CA', async () => {
  recorded.length = 0;
  const applied = await client().apply(deployment);
  expect(applied.metadata).toMatchObject({ name: 'web', resourceVersion: '7' });
  const patch = recorded.find((r) => r.method === 'PATCH')!;
  expect(patch).toEqual({
    method: 'PATCH',
    path: '/apis/apps/v1/namespaces/shop/deployments/web',
    query: { fieldManager: 'opsflow', force: 'false', fieldValidation: 'Strict' },
    contentType: 'application/apply-patch+yaml',
    authorization: `Bearer ${TOKEN}`,
    body: deployment,
  });
  // Cluster-scoped kinds have no namespace in their path; a dry run says so.
  await client().apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, { dryRun: true, force: true });
  expect(recorded.at(-1)).toMatchObject({
    path: '/api/v1/namespaces/shop',
    query: { dryRun: 'All', force: 'true', fieldManager: 'opsflow' },
  });
});

test('a refusal names the object and the field; a missing object reads as undefined and deletes as already gone', async () => {
  const refusal = await client()
    .apply({ ...deployment, metadata: { name: 'bad', namespace: 'shop' } })
    .catch((err: unknown) => err);
  expect(refusal).toBeInstanceOf(KubernetesRequestError);
  expect((refusal as Error).message).toMatch(
    /^apply Deployment shop\/bad rejected by the API server \(field spec\.replicas\): 422 Invalid/,
  );
  expect(await client().get({ apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'gone' })).toBeUndefined();
  expect(await client().delete({ apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'gone' })).toBe('already gone');
  expect(recorded.at(-1)).toMatchObject({ method: 'DELETE', query: { propagationPolicy: 'Background' } });
});

test('a server whose certificate the kubeconfig CA did not sign gets no request', async () => {
  const other = await ensureClusterPki(tempDir('kube-client-other'), '10.96.0.1');
  recorded.length = 0;
  const err = await client(other.caPem)
    .get({ apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web' })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KubernetesRequestError);
  expect((err as KubernetesRequestError).retryable).toBe(true);
  expect((err as Error).message).not.toContain(TOKEN);
  expect(recorded).toEqual([]);
});
