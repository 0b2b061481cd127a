// One Kubernetes control plane on this machine, for one DOKS cluster: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok (the node half of the node pool's kubelets; the
// pod half is the pod runner, pod-runner/), all on
// loopback ports with their data, secrets and logs in the cluster's folder. Ports are kept in that
// folder, so the plane comes back on the same address (and old kubeconfigs keep working) after the
// local cloud restarts.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ComponentProcess } from './component-process';
import { freeLoopbackPort } from './free-port';
import { KubeClient } from './kube-client';
import { renderKubeconfig } from './kubeconfig';
import { kwokStagesYaml } from './kwok-stages';
import { ensureClusterPki, type ClusterPki, type Identity } from './pki';

export interface ControlPlaneOptions {
  /** Holds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (scripts/kube-plane.sh). */
  binDir: string;
  /** The cluster's own folder: etcd data, PKI, kubeconfigs, logs. */
  dir: string;
  /** Used in kubeconfig names. */
  name: string;
  /** Service IPs (DigitalOcean's default is 10.245.0.0/16). */
  serviceSubnet: string;
  /** The cluster's pod subnet as DigitalOcean reports it (default 10.244.0.0/16); pods' real addresses come from the pod runner. */
  clusterSubnet: string;
  /** How long start() waits for /readyz; 180 s unless given (the machine may be busy). */
  readyTimeoutMs?: number;
}

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
}

const STOP_GRACE_MS = 10_000;

/** The first address of a subnet: the API server's `kubernetes` Service. */
function firstAddress(subnet: string): string {
  const [network] = subnet.split('/');
  const octets = (network ?? '').split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new Error(`service subnet ${subnet} is not an IPv4 CIDR network`);
  }
  octets[3] = (octets[3] as number) + 1;
  return octets.join('.');
}

async function loadOrPickPorts(file: string): Promise<Ports> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Ports;
  const ports = { etcdClient: await freeLoopbackPort(), etcdPeer: await freeLoopbackPort(), apiserver: await freeLoopbackPort() };
  writeFileSync(file, JSON.stringify(ports), { mode: 0o600 });
  return ports;
}

export class ControlPlane {
  private constructor(
    private readonly options: ControlPlaneOptions,
    private readonly pki: ClusterPki,
    readonly server: string,
    private readonly components: ComponentProcess[],
    /** Milliseconds from start() to the API server's /readyz answering ok. */
    readonly readyAfterMs: number,
  ) {}

  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const started = Date.now();
    const { dir, binDir } = options;
    for (const sub of ['', 'pki', 'logs', 'etcd', 'kubeconfig']) mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 });
    const pki = await ensureClusterPki(path.join(dir, 'pki'), firstAddress(options.serviceSubnet));
    const ports = await loadOrPickPorts(path.join(dir, 'ports.json'));
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const kubeconfigOf = (identity: Identity) => {
      const file = path.join(dir, 'kubeconfig', `${identity}.yaml`);
      writeFileSync(file, renderKubeconfig({ name: options.name, server, caPem: pki.caPem, token: pki.tokens[identity] }), { mode: 0o600 });
      return file;
    };
    const kwokConfig = path.join(dir, 'kwok.yaml');
    writeFileSync(kwokConfig, kwokStagesYaml(), { mode: 0o600 });

    const components: ComponentProcess[] = [];
    const start = (name: string, args: string[], env: Record<string, string> = {}) => {
      const component = ComponentProcess.start({
        name,
        binary: path.join(binDir, name),
        args,
        logFile: path.join(dir, 'logs', `${name}.log`),
        env: { HOME: dir, ...env },
      });
      components.push(component);
      return component;
    };
    const stopAll = () => Promise.all(components.reverse().map((c) => c.stop(STOP_GRACE_MS)));

    try {
      const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
      const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
      start('etcd', [
        '--name=default',
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        '--log-level=warn',
        // A local cloud's cluster: a stop flushes, only a machine crash could lose the last writes,
        // and fsync on a disk shared with every test makes the API server time out.
        '--unsafe-no-fsync',
      ]);
      // The API server retries etcd until it answers, so both start at once.
      start('kube-apiserver', [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${ports.apiserver}`,
        `--cert-dir=${path.join(dir, 'pki')}`,
        `--tls-cert-file=${pki.servingCertFile}`,
        `--tls-private-key-file=${pki.servingKeyFile}`,
        `--token-auth-file=${pki.tokenFile}`,
        '--authorization-mode=RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
        `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
        `--service-cluster-ip-range=${options.serviceSubnet}`,
        // No real endpoint for the `kubernetes` Service: its address is loopback on this machine.
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        '--profiling=false',
        // One client at a time, on a shared machine: fairness queues only add latency and memory.
        '--enable-priority-and-fairness=false',
      ]);
      const client = new KubeClient(server, pki.caPem, pki.tokens.admin);
      await waitUntilReady(client, components, options.readyTimeoutMs ?? 180_000);
      const readyAfterMs = Date.now() - started;

      start('kube-controller-manager', [
        `--kubeconfig=${kubeconfigOf('controllerManager')}`,
        '--leader-elect=false',
        '--secure-port=0',
        `--service-account-private-key-file=${pki.serviceAccountKeyFile}`,
        `--root-ca-file=${pki.caFile}`,
        `--service-cluster-ip-range=${options.serviceSubnet}`,
        `--cluster-cidr=${options.clusterSubnet}`,
        '--use-service-account-credentials=true',
        '--profiling=false',
      ]);
      start('kube-scheduler', [
        `--kubeconfig=${kubeconfigOf('scheduler')}`,
        '--leader-elect=false',
        '--secure-port=0',
        '--profiling=false',
      ]);
      start('kwok', [
        `--kubeconfig=${kubeconfigOf('kwok')}`,
        `--config=${kwokConfig}`,
        '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        `--cidr=${options.clusterSubnet}`,
        '--node-ip=127.0.0.1',
        '--node-lease-duration-seconds=40',
      ]);
      return new ControlPlane(options, pki, server, components, readyAfterMs);
    } catch (error) {
      await stopAll();
      throw error;
    }
  }

  /** A client with the admin token (for registering nodes). */
  adminClient(): KubeClient {
    return new KubeClient(this.server, this.pki.caPem, this.pki.tokens.admin);
  }

  get caPem(): string {
    return this.pki.caPem;
  }

  get adminToken(): string {
    return this.pki.tokens.admin;
  }

  /** The kubeconfig a user gets: cluster-admin through a bearer token. */
  adminKubeconfig(contextName: string): string {
    return renderKubeconfig({ name: contextName, server: this.server, caPem: this.pki.caPem, token: this.pki.tokens.admin });
  }

  /** Process ids of its components still running. */
  pids(): number[] {
    return this.components.filter((c) => c.running && c.pid !== undefined).map((c) => c.pid as number);
  }

  /** Components that have exited on their own, with how, for status messages. */
  exitedComponents(): string[] {
    return this.components.filter((c) => !c.running).map((c) => `${c.name} (${c.exitDescription})`);
  }

  /** Resident memory of all its processes, from /proc. */
  rssBytes(): number {
    let total = 0;
    for (const pid of this.pids()) {
      try {
        const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        total += Number(match?.[1] ?? 0) * 1024;
      } catch {
        // Exited meanwhile.
      }
    }
    return total;
  }

  /** Stops every component, kwok first and etcd last; its data stays in the folder. */
  async stop(): Promise<void> {
    for (const component of [...this.components].reverse()) await component.stop(STOP_GRACE_MS);
  }

  get dir(): string {
    return this.options.dir;
  }
}

async function waitUntilReady(client: KubeClient, components: ComponentProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const dead = components.find((c) => !c.running);
    if (dead) throw new Error(`${dead.name} exited (${dead.exitDescription}) before the API server was ready: ${lastLine(dead.logTail())}`);
    try {
      const response = await client.call('GET', '/readyz', undefined, 2_000);
      if (response.status === 200) return;
      last = `${response.status} ${response.body.slice(0, 300)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) {
      const apiserver = components.find((c) => c.name === 'kube-apiserver');
      throw new Error(
        `the API server was not ready within ${timeoutMs} ms (last: ${last}); its log ends: ${lastLine(apiserver?.logTail() ?? '')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200)); // polling cadence
  }
}

/** The last line a component wrote (the full log is in the cluster's logs folder). */
function lastLine(log: string): string {
  return log.trim().split('\n').pop()?.slice(0, 500) ?? '';
}
