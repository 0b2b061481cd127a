// A DOKS cluster's ingress in the local cloud: the Gateway API CRDs and the `nginx` classes
// installed, then a loop that reads the cluster's Gateways, HTTPRoutes, Ingresses, Services and
// EndpointSlices, loads the nginx configuration they call for whenever it changes, and reports the
// ingress's address where a user looks for it (a Gateway's status.addresses, an Ingress's
// status.loadBalancer), as DigitalOcean's load balancer in front of a real ingress controller would.
import { log } from '../../log';
import type { KubeClient } from '../kube-client';
import { GATEWAY_API_CRDS, INGRESS_CLASSES } from './gateway-crds';
import { IngressNginx } from './ingress-nginx';
import type { ClusterTraffic, Gateway, Ingress, Listed } from './objects';
import { INGRESS_CLASS, planTraffic } from './traffic-plan';

const SYNC_EVERY_MS = 300;
const CRD_TIMEOUT_MS = 60_000;
const MERGE_PATCH = 'application/merge-patch+json';

export class ClusterIngress {
  private stopped = false;
  private readonly loop: Promise<void>;
  /**
   * How many configurations have been loaded since start (the first, empty one included), each
   * counted once nginx's old workers have exited: every request after that meets it alone.
   */
  loads = 1;
  /** The last reason a configuration could not be read or loaded, cleared by the next success. */
  lastError: string | undefined;

  private constructor(
    private readonly client: KubeClient,
    private readonly nginx: IngressNginx,
  ) {
    this.loop = this.syncForever();
  }

  get address(): string {
    return this.nginx.address;
  }

  static async start(client: KubeClient, dir: string, address: string): Promise<ClusterIngress> {
    await installGatewayApi(client);
    const nginx = await IngressNginx.start(dir, address);
    return new ClusterIngress(client, nginx);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.nginx.stop();
  }

  private async syncForever(): Promise<void> {
    while (!this.stopped) {
      try {
        const traffic = await readTraffic(this.client);
        if (await this.nginx.apply(planTraffic(traffic))) this.loads++;
        await this.reportAddress(traffic);
        this.lastError = undefined;
      } catch (error) {
        const message = (error as Error).message;
        if (message !== this.lastError) log.warn('cluster ingress could not sync', { address: this.address, error: message });
        this.lastError = message;
      }
      await new Promise((r) => setTimeout(r, SYNC_EVERY_MS)); // sync cadence
    }
  }

  /** Gateways of the class and Ingresses of the class (or none) show where the ingress listens. */
  private async reportAddress(traffic: ClusterTraffic): Promise<void> {
    for (const gateway of traffic.gateways.filter((g) => g.spec.gatewayClassName === INGRESS_CLASS))
      if (!gatewayReported(gateway, this.address))
        await this.patchStatus(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns(gateway)}/gateways/${gateway.metadata.name}/status`, {
          status: gatewayStatus(gateway, this.address),
        });
    for (const ingress of traffic.ingresses.filter((i) => (i.spec?.ingressClassName ?? INGRESS_CLASS) === INGRESS_CLASS))
      if (!ingressReported(ingress, this.address))
        await this.patchStatus(`/apis/networking.k8s.io/v1/namespaces/${ns(ingress)}/ingresses/${ingress.metadata.name}/status`, {
          status: { loadBalancer: { ingress: [{ ip: this.address, ports: [{ port: 80, protocol: 'TCP' }] }] } },
        });
  }

  private async patchStatus(path: string, body: unknown): Promise<void> {
    // 404: deleted since it was read; the next pass no longer sees it.
    await this.client.expect('PATCH', path, body, [200, 404], MERGE_PATCH);
  }
}

const ns = (o: { metadata: { namespace?: string } }) => encodeURIComponent(o.metadata.namespace ?? 'default');

async function list<T>(client: KubeClient, path: string): Promise<T[]> {
  const response = await client.expect('GET', path, undefined, [200]);
  return (JSON.parse(response.body) as Listed<T>).items;
}

async function readTraffic(client: KubeClient): Promise<ClusterTraffic> {
  const [gateways, httpRoutes, ingresses, services, endpointSlices] = await Promise.all([
    list<Gateway>(client, '/apis/gateway.networking.k8s.io/v1/gateways'),
    list<ClusterTraffic['httpRoutes'][number]>(client, '/apis/gateway.networking.k8s.io/v1/httproutes'),
    list<Ingress>(client, '/apis/networking.k8s.io/v1/ingresses'),
    list<ClusterTraffic['services'][number]>(client, '/api/v1/services'),
    list<ClusterTraffic['endpointSlices'][number]>(client, '/apis/discovery.k8s.io/v1/endpointslices'),
  ]);
  return { gateways, httpRoutes, ingresses, services, endpointSlices };
}

interface GatewayStatusShape {
  addresses?: { value?: string }[];
  conditions?: { type: string; observedGeneration?: number }[];
}

function gatewayReported(gateway: Gateway, address: string): boolean {
  const status = gateway.status as GatewayStatusShape | undefined;
  return (
    status?.addresses?.[0]?.value === address &&
    (status.conditions ?? []).some((c) => c.type === 'Programmed' && c.observedGeneration === gateway.metadata.generation)
  );
}

function gatewayStatus(gateway: Gateway, address: string) {
  const now = new Date().toISOString();
  const condition = (type: string, reason: string, message: string) => ({
    type,
    status: 'True',
    reason,
    message,
    observedGeneration: gateway.metadata.generation,
    lastTransitionTime: now,
  });
  return {
    addresses: [{ type: 'IPAddress', value: address }],
    conditions: [
      condition('Accepted', 'Accepted', 'served by the local cloud ingress'),
      condition('Programmed', 'Programmed', `nginx listens on ${address}:80`),
    ],
  };
}

function ingressReported(ingress: Ingress, address: string): boolean {
  const status = ingress.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined;
  return status?.loadBalancer?.ingress?.[0]?.ip === address;
}

/** Creates the CRDs (kept if they exist), waits until the API serves them, then the classes. */
async function installGatewayApi(client: KubeClient): Promise<void> {
  for (const crd of GATEWAY_API_CRDS)
    await client.expect('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd, [201, 409]);
  const deadline = Date.now() + CRD_TIMEOUT_MS;
  for (const crd of GATEWAY_API_CRDS) {
    const name = (crd.metadata as { name: string }).name;
    for (;;) {
      const response = await client.expect('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, undefined, [200]);
      const conditions = (JSON.parse(response.body) as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions;
      if (conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`the CRD ${name} is not Established after ${CRD_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 100)); // polling cadence
    }
  }
  for (const object of INGRESS_CLASSES) {
    const path =
      object.kind === 'GatewayClass' ? '/apis/gateway.networking.k8s.io/v1/gatewayclasses' : '/apis/networking.k8s.io/v1/ingressclasses';
    await client.expect('POST', path, object, [201, 409]);
  }
}
