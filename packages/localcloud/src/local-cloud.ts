// The local cloud: a DigitalOcean-compatible provider on this machine, the embedded default when
// no DIGITALOCEAN_TOKEN is given. Its state lives in a folder and survives restarts.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ActionEngine } from './actions';
import { buildApiServer } from './api/server';
import { CONTROL_TOKEN_HEADER, newControlToken } from './api/credentials';
import { RateLimits, type RateLimitBudget } from './api/rate-limit';
import type { CloudContext, HostHooks } from './context';
import { ensurePrivateDir } from './endpoint';
import { DropletHosts } from './hosts/droplet-hosts';
import { claimHostNetwork, type ChosenHostNetwork, type HostNetworkClaim } from './hosts/isolation/network-claim';
import { DEFAULT_DROPLET_LIMIT } from './api/routes/droplets';
import { applyEffect } from './effects';
import { Faults } from './faults';
import { Store } from './store';
import { FAST_TIMING, type Timing } from './timing';
import { registerControlRoutes } from './control';
import { registerKubernetesRoutes } from './api/routes/kubernetes';
import { KubernetesClusters } from './kubernetes/clusters';
import { hostAddressOf } from './api/routes/droplets';
import { RequestLog } from './request-log';
import { cloudflareRuntime, edgeAddress, type CloudflareRuntime } from './cloudflare/runtime';
import { loadBalancerTraffic, type LoadBalancerTraffic } from './api/routes/load-balancer-traffic';

export interface LocalCloudOptions {
  stateDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Defaults to a random token kept in the state folder, so restarts keep it. */
  token?: string;
  timing?: Timing;
  rateLimit?: RateLimitBudget;
  /** Droplets answer SSH as real hosts (the default), on this port (default 22). */
  sshHosts?: false | { sshPort?: number };
  /**
   * Second octet of the droplets' loopback addresses, 1 to 254. With droplet hosts, one running
   * cloud per network on the machine (refused with HostNetworkInUse). Default: the one the state
   * folder remembers, else 100, else the next free one (claimHostNetwork); remembered either way.
   */
  hostNetwork?: number;
  /** The account's droplet limit (default 25, a new DigitalOcean account's). */
  dropletLimit?: number;
  /**
   * DOKS clusters, each a real control plane on this machine. binDir holds its binaries; by
   * default scripts/kube-plane.sh finds them (or builds them, once per machine) at the first cluster.
   */
  kubernetes?: { binDir?: string };
}

/** API only: droplets never become hosts (for API tests on machines without bubblewrap). */
const NO_HOSTS: HostHooks = { dropletActive: () => undefined, dropletDestroyed: () => undefined };

export class LocalCloud {
  private constructor(
    private readonly app: FastifyInstance,
    readonly ctx: CloudContext,
    readonly rateLimits: RateLimits,
    /** The DigitalOcean API token (a bearer token). */
    readonly token: string,
    /** The control API's token, new at every start (also in `<stateDir>/control-token`, 0600). */
    readonly controlToken: string,
    readonly apiUrl: string,
    /** Every API request received, with its status; also at GET /_localcloud/requests. */
    readonly requestLog: RequestLog,
    /** The droplets' hosts, unless started with `sshHosts: false`. */
    readonly hosts: DropletHosts | undefined,
    /** This cloud's hold on its host network, while it has droplet hosts. */
    private readonly claim: HostNetworkClaim | undefined,
    /** Which host network it took and why (given, remembered, default, next free). */
    readonly hostNetworkChoice: Omit<ChosenHostNetwork, 'claim'>,
    /** The DOKS clusters and their control planes. */
    readonly kubernetes: KubernetesClusters,
  ) {}

  /** Cloudflare's side: the edge (its url, what it forwarded where) and the pools' health checker. */
  get cloudflare(): CloudflareRuntime {
    return cloudflareRuntime(this.ctx);
  }

  /** DigitalOcean's load balancers as they forward: each one's droplets in rotation or not, and the connections each got. */
  get loadBalancers(): LoadBalancerTraffic {
    return loadBalancerTraffic(this.ctx);
  }

  /** The header a control call (/_localcloud/...) carries. */
  get controlHeaders(): Record<string, string> {
    return { [CONTROL_TOKEN_HEADER]: this.controlToken };
  }

  static async start(options: LocalCloudOptions): Promise<LocalCloud> {
    ensurePrivateDir(options.stateDir);
    // Hosts bind 127.N.x.y and run as the network's uids: first make sure no other cloud does.
    const { claim, ...chosen } = await claimHostNetwork(options.stateDir, options.hostNetwork, { claim: options.sshHosts !== false });
    try {
      return await LocalCloud.startClaimed(options, chosen, claim);
    } catch (error) {
      await claim?.release();
      throw error;
    }
  }

  private static async startClaimed(
    options: LocalCloudOptions,
    chosen: Omit<ChosenHostNetwork, 'claim'>,
    claim: HostNetworkClaim | undefined,
  ): Promise<LocalCloud> {
    const hostNetwork = chosen.network;
    // Its token, keys, droplets' roots and Spaces' objects: the machine's root's alone (tightened if older code left it open).
    ensurePrivateDir(options.stateDir);
    const token = options.token ?? persistentToken(options.stateDir);
    const store = new Store(options.stateDir);
    const faults = new Faults();
    const ctx = {
      store,
      faults,
      timing: options.timing ?? FAST_TIMING,
      hosts: NO_HOSTS,
      hostNetwork,
      dropletLimit: options.dropletLimit ?? DEFAULT_DROPLET_LIMIT,
    } as CloudContext;
    const hosts =
      options.sshHosts === false
        ? undefined
        : new DropletHosts(ctx, { dir: path.join(options.stateDir, 'hosts'), sshPort: options.sshHosts?.sshPort });
    if (hosts) ctx.hosts = hosts;
    ctx.actions = new ActionEngine(
      store,
      (effect, succeeded) => applyEffect(ctx, effect, succeeded),
      (type) => faults.holdsAction(type),
    );
    faults.onChange(() => ctx.actions.releaseHeld());
    const controlToken = newControlToken(options.stateDir);
    const rateLimits = new RateLimits(options.rateLimit);
    const requestLog = new RequestLog();
    const kubernetes = new KubernetesClusters({
      dir: path.join(options.stateDir, 'kubernetes'),
      binDir: options.kubernetes?.binDir,
      hostNetwork,
      // A cluster's ingress listens on port 80 of an address of its own, as a load balancer would.
      newIngressAddress: () => {
        const address = hostAddressOf(ctx, ctx.store.state.internal.nextHostAddress++);
        ctx.store.changed();
        return address;
      },
    });
    const app = buildApiServer(ctx, {
      credentials: { apiToken: token, controlToken },
      rateLimits,
      requestLog,
      registerControl: (a) => {
        registerControlRoutes(a, ctx, rateLimits, requestLog);
        // Behind the same gate as every /v2 route; registered here because it needs the clusters.
        registerKubernetesRoutes(a, ctx, kubernetes);
      },
    });
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
    const { address, port } = app.server.address() as AddressInfo;
    // Droplets reach the cloud API, as real ones reach api.digitalocean.com; the rest of the machine is closed to them.
    await hosts?.allowMachinePort(port, address);
    // Droplets that were active before a restart come back as hosts; unfinished actions finish.
    for (const droplet of store.state.droplets) if (droplet.status !== 'new') ctx.hosts.dropletActive(droplet);
    // Load balancers finish provisioning on a timer that a restart drops: they finished meanwhile.
    for (const lb of store.state.loadBalancers) if (lb.status === 'new') lb.status = 'active';
    // ...and listen again, their droplets counted afresh by their health checks.
    loadBalancerTraffic(ctx).sync();
    ctx.actions.resume();
    // Cloudflare's edge on an address of this cloud's network; monitors start probing pools.
    await cloudflareRuntime(ctx).start(edgeAddress(hostNetwork));
    // Clusters that existed before a restart start their planes again on their own data.
    kubernetes.resume();
    return new LocalCloud(
      app,
      ctx,
      rateLimits,
      token,
      controlToken,
      `http://${address}:${port}`,
      requestLog,
      hosts,
      claim,
      chosen,
      kubernetes,
    );
  }

  async stop(): Promise<void> {
    this.ctx.actions.stop();
    await this.app.close();
    await cloudflareRuntime(this.ctx).stop();
    await this.kubernetes.close();
    await this.hosts?.close();
    this.ctx.store.flush();
    // Last: until its droplets have stopped and its table is gone, the network is still this cloud's.
    await this.claim?.release();
  }
}

function persistentToken(stateDir: string): string {
  const file = path.join(stateDir, 'token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = `dop_v1_local${randomBytes(24).toString('hex')}`;
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}
