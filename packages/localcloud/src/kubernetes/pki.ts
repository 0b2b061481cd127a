// A cluster's secrets, made once when its plane first starts and kept in its folder (0600): a CA
// and the API server's serving certificate (openssl: Node has no X.509 writer), the key pair that
// signs service account tokens, and one bearer token per identity that talks to the API server.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Who talks to the API server, with the user and groups its token stands for. */
export const IDENTITIES = {
  admin: { user: 'kubernetes-admin', groups: ['system:masters'] },
  controllerManager: { user: 'system:kube-controller-manager', groups: [] },
  scheduler: { user: 'system:kube-scheduler', groups: [] },
  // kwok writes node and pod status as every kubelet of the pool would.
  kwok: { user: 'kwok-controller', groups: ['system:masters'] },
} as const;
export type Identity = keyof typeof IDENTITIES;

export interface ClusterPki {
  caFile: string;
  caPem: string;
  servingCertFile: string;
  servingKeyFile: string;
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
  tokenFile: string;
  tokens: Record<Identity, string>;
}

/** The names and addresses the API server is reached by, from this machine and from pods. */
function subjectAltNames(serviceIp: string): string {
  const names = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'];
  return [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1', `IP:${serviceIp}`].join(',');
}

async function makeCertificates(dir: string, serviceIp: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = path.join(dir, 'ca.crt');
  const caKey = path.join(dir, 'ca.key');
  await run('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-days', '3650', '-subj', '/CN=opsflow-local-kubernetes-ca']);
  await run('openssl', [
    'req',
    '-x509',
    '-CA',
    ca,
    '-CAkey',
    caKey,
    ...ec,
    '-keyout',
    path.join(dir, 'apiserver.key'),
    '-out',
    path.join(dir, 'apiserver.crt'),
    '-days',
    '3650',
    '-subj',
    '/CN=kube-apiserver',
    '-addext',
    `subjectAltName=${subjectAltNames(serviceIp)}`,
    '-addext',
    'extendedKeyUsage=serverAuth',
    '-addext',
    'basicConstraints=critical,CA:FALSE',
  ]);
}

function makeServiceAccountKeys(dir: string): void {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(path.join(dir, 'sa.key'), privateKey, { mode: 0o600 });
  writeFileSync(path.join(dir, 'sa.pub'), publicKey, { mode: 0o600 });
}

function makeTokens(dir: string): void {
  // The API server's --token-auth-file: token,user,uid[,"group1,group2"].
  const lines = Object.values(IDENTITIES).map(({ user, groups }) => {
    const token = randomBytes(32).toString('hex');
    return [token, user, user, ...(groups.length ? [`"${groups.join(',')}"`] : [])].join(',');
  });
  writeFileSync(path.join(dir, 'tokens.csv'), lines.join('\n') + '\n', { mode: 0o600 });
}

function readTokens(file: string): Record<Identity, string> {
  const byUser = new Map(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [token, user] = line.split(',');
        return [user, token] as const;
      }),
  );
  const tokens = {} as Record<Identity, string>;
  for (const [identity, { user }] of Object.entries(IDENTITIES)) {
    const token = byUser.get(user);
    if (!token) throw new Error(`${file} has no token for ${user}`);
    tokens[identity as Identity] = token;
  }
  return tokens;
}

/** The cluster's PKI in `dir`, made on first use and read back afterwards. */
export async function ensureClusterPki(dir: string, serviceIp: string): Promise<ClusterPki> {
  if (!existsSync(path.join(dir, 'apiserver.crt'))) await makeCertificates(dir, serviceIp);
  if (!existsSync(path.join(dir, 'sa.key'))) makeServiceAccountKeys(dir);
  if (!existsSync(path.join(dir, 'tokens.csv'))) makeTokens(dir);
  const caFile = path.join(dir, 'ca.crt');
  return {
    caFile,
    caPem: readFileSync(caFile, 'utf8'),
    servingCertFile: path.join(dir, 'apiserver.crt'),
    servingKeyFile: path.join(dir, 'apiserver.key'),
    serviceAccountKeyFile: path.join(dir, 'sa.key'),
    serviceAccountPublicKeyFile: path.join(dir, 'sa.pub'),
    tokenFile: path.join(dir, 'tokens.csv'),
    tokens: readTokens(path.join(dir, 'tokens.csv')),
  };
}
