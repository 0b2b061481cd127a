// The pieces of a cluster backup archive that hold without a cluster: ConfigMaps and Secrets
// encrypted under the worker's backup key and bound to their path, the tar reader refusing what
// no export writes, and what a backup keeps of an object.
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { BackupError } from '../../src/backups/errors';
import { cleanObject, generatedBecause, remapNamespace } from '../../src/backups/cluster/clean-object';
import { decryptEntry, encryptEntry } from '../../src/backups/cluster/config-encryption';
import { packEntries, unpackEntries } from '../../src/backups/cluster/tar-entries';
import { resourcePath } from '../../src/backups/cluster/velero-layout';
import { generateBackupKey } from '../../src/backups/backup-key';
import { TEST_KEYRING, testKeyring } from '../helpers/backup-keys';

const PATH = 'resources/secrets/namespaces/shop/db.json';
const secret = Buffer.from(JSON.stringify({ kind: 'Secret', data: { password: 'c2VjcmV0LXZhbHVl' } }));

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof BackupError) return `${err.type}: ${err.message}`;
    throw err;
  }
  return 'not refused';
}

test('an encrypted entry decrypts under its own path with a key the worker holds, and under nothing else', () => {
  const stored = encryptEntry(secret, PATH, TEST_KEYRING.signingKey());
  expect(stored.toString()).not.toContain('c2VjcmV0LXZhbHVl');
  expect(decryptEntry(stored, PATH, TEST_KEYRING)).toEqual(secret);
  expect(refusal(() => decryptEntry(stored, 'resources/secrets/namespaces/shop/other.json', TEST_KEYRING))).toMatch(
    /^BackupNotAuthentic: .*other\.json: its encrypted contents do not authenticate/,
  );
  const tampered = JSON.parse(stored.toString()) as { data: string };
  tampered.data = Buffer.from(Buffer.from(tampered.data, 'base64').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64');
  expect(refusal(() => decryptEntry(Buffer.from(JSON.stringify(tampered)), PATH, TEST_KEYRING))).toMatch(/do not authenticate/);
  expect(refusal(() => decryptEntry(stored, PATH, testKeyring(generateBackupKey())))).toMatch(/which this worker does not hold/);
});

test("an archive's entries read back as written; a path that climbs out is refused", async () => {
  const entries = [
    { path: 'metadata/version', bytes: Buffer.from('1\n') },
    { path: resourcePath({ apiVersion: 'apps/v1', resource: 'deployments', namespace: 'shop', name: 'web' }), bytes: Buffer.from('{}') },
  ];
  expect(entries[1]!.path).toBe('resources/deployments.apps/namespaces/shop/web.json');
  expect(await unpackEntries(packEntries(entries, new Date()).pipe(createGzip()), 'test')).toEqual(entries);

  const evil = pack();
  evil.entry({ name: '../../etc/cron.d/x' }, 'boom');
  evil.finalize();
  await expect(unpackEntries(Readable.from(evil as unknown as AsyncIterable<Buffer>).pipe(createGzip()), 'planted')).rejects.toThrow(
    'planted: entry "../../etc/cron.d/x" (file) is not a plain file of a cluster backup',
  );
});

test('a backup keeps what was written, not what the cluster made, and a restore moves references along', () => {
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'u',
      resourceVersion: '7',
      creationTimestamp: 't',
      managedFields: [{}],
      annotations: { a: 'b' },
    },
    spec: {
      clusterIP: '10.0.0.7',
      clusterIPs: ['10.0.0.7'],
      type: 'NodePort',
      ports: [{ port: 80, nodePort: 30080 }],
      selector: { app: 'web' },
    },
    status: { loadBalancer: {} },
  };
  expect(cleanObject(service)).toEqual({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', annotations: { a: 'b' } },
    spec: { type: 'NodePort', ports: [{ port: 80 }], selector: { app: 'web' } },
  });
  const none = new Set<string>();
  expect(generatedBecause({ kind: 'Pod', metadata: { ownerReferences: [{ kind: 'ReplicaSet', controller: true }] } }, none)).toBe(
    'owned by its ReplicaSet',
  );
  expect(generatedBecause({ kind: 'Endpoints', metadata: { name: 'web' } }, new Set(['web']))).toBe('kept by the endpoints controller');
  expect(generatedBecause({ kind: 'Endpoints', metadata: { name: 'external' } }, new Set(['web']))).toBeUndefined();
  expect(generatedBecause({ kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' } }, none)).toBe('published in every namespace');
  expect(generatedBecause({ kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { name: 't' } }, none)).toBe(
    'a service-account token',
  );

  const binding = {
    kind: 'RoleBinding',
    metadata: { name: 'b', namespace: 'shop' },
    subjects: [
      { kind: 'ServiceAccount', name: 'app', namespace: 'shop' },
      { kind: 'ServiceAccount', name: 'x', namespace: 'kube-system' },
    ],
  };
  expect(remapNamespace(binding, 'shop', 'shop-restored')).toEqual({
    kind: 'RoleBinding',
    metadata: { name: 'b', namespace: 'shop-restored' },
    subjects: [
      { kind: 'ServiceAccount', name: 'app', namespace: 'shop-restored' },
      { kind: 'ServiceAccount', name: 'x', namespace: 'kube-system' },
    ],
  });
});
