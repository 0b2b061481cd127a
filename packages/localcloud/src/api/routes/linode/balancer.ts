// NodeBalancers that really balance: each config listens on its balancer's address and port (in
// this cloud's host network, as droplets' app services do) and passes every TCP connection to one
// of its nodes, by smooth weighted round robin (balancing/tcp-forwarding.ts, shared with
// DigitalOcean's load balancers). A node is named by its private address; it is
// reached at the instance's host address. A node that refuses a connection is marked DOWN and
// skipped (passive checking); every check_interval seconds a DOWN node is tried again and is UP
// once it accepts a connection. `drain` and `reject` nodes take no new connections; `backup`
// nodes only when no `accept` node is up.
import net from 'node:net';
import type { NodeBalancerConfig, NodeBalancerConfigNode } from '@linode/api-v4';
import type { CloudContext } from '../../../context';
import { forwardConnection, SmoothWeightedRoundRobin } from '../../../balancing/tcp-forwarding';
import { log } from '../../../log';

interface Frontend {
  server: net.Server;
  /** Tries DOWN nodes again every check_interval seconds. */
  recheck: NodeJS.Timeout;
  /** Smooth weighted round robin over the config's nodes, by node id. */
  rotation: SmoothWeightedRoundRobin<number>;
}

export class NodeBalancerFrontends {
  private readonly frontends = new Map<number, Frontend>();
  constructor(private readonly ctx: CloudContext) {}

  /** Listens for every config there is and stops listening for those gone. */
  sync(): void {
    const configs = new Map<number, { address: string; config: NodeBalancerConfig }>();
    for (const { nodeBalancer, configs: list } of this.ctx.store.state.linode.nodeBalancers)
      for (const config of list) configs.set(config.id, { address: nodeBalancer.ipv4, config });
    for (const [id, frontend] of this.frontends)
      if (!configs.has(id)) {
        stop(frontend);
        this.frontends.delete(id);
      }
    for (const [id, { address, config }] of configs) if (!this.frontends.has(id)) this.listen(id, address, config);
  }

  close(): void {
    for (const frontend of this.frontends.values()) stop(frontend);
    this.frontends.clear();
  }

  private listen(configId: number, address: string, { port, check_interval: interval }: NodeBalancerConfig): void {
    const recheck = setInterval(() => this.recheck(configId), Math.max(1, interval) * 1000).unref();
    const frontend: Frontend = {
      server: net.createServer((socket) => this.forward(configId, socket)),
      recheck,
      rotation: new SmoothWeightedRoundRobin<number>(),
    };
    frontend.server.on('error', (error) =>
      log.error('NodeBalancer config could not listen', { configId, address, port, error: error.message }),
    );
    frontend.server.listen(port, address);
    this.frontends.set(configId, frontend);
  }

  private recheck(configId: number): void {
    const config = this.config(configId);
    for (const node of config?.nodes.filter((n) => n.status === 'DOWN') ?? []) {
      const target = this.hostOf(node.address);
      if (!target) continue;
      const probe = net.connect(target.port, target.host);
      probe.once('connect', () => {
        probe.destroy();
        this.mark(config as NodeBalancerConfig, node, 'UP');
      });
      probe.once('error', () => probe.destroy());
    }
  }

  private config(configId: number): NodeBalancerConfig | undefined {
    for (const { configs } of this.ctx.store.state.linode.nodeBalancers) {
      const config = configs.find((c) => c.id === configId);
      if (config) return config;
    }
    return undefined;
  }

  /** Passes the connection to the next node; a node that refuses it is marked down and the next one tried. */
  private forward(configId: number, client: net.Socket): void {
    const config = this.config(configId);
    if (!config) return void client.destroy();
    forwardConnection<NodeBalancerConfigNode>(client, {
      pick: (tried) => this.pick(configId, config, tried),
      target: (node) => this.hostOf(node.address),
      connected: (node) => this.mark(config, node, 'UP'),
      refused: (node) => this.mark(config, node, 'DOWN'),
    });
  }

  private pick(
    configId: number,
    config: NodeBalancerConfig,
    tried: ReadonlySet<NodeBalancerConfigNode>,
  ): NodeBalancerConfigNode | undefined {
    const usable = (mode: string) => config.nodes.filter((n) => n.mode === mode && n.status !== 'DOWN' && !tried.has(n));
    const candidates = usable('accept').length > 0 ? usable('accept') : usable('backup');
    // A node marked down is tried again when nothing else is left: it may be back.
    const pool = candidates.length > 0 ? candidates : config.nodes.filter((n) => n.mode === 'accept' && !tried.has(n));
    const rotation = this.frontends.get(configId)?.rotation ?? new SmoothWeightedRoundRobin<number>();
    return rotation.pick(
      pool,
      (n) => n.id,
      (n) => n.weight,
    );
  }

  /** "192.168.130.7:8080" -> the instance's host address and that port (a host address is taken as it is). */
  private hostOf(address: string): { host: string; port: number } | undefined {
    const match = /^(.*):(\d+)$/.exec(address);
    if (!match) return undefined;
    const [, ip, port] = match as unknown as [string, string, string];
    const record = Object.values(this.ctx.store.state.internal.hosts).find((h) => h.privateAddress === ip || h.address === ip);
    return record ? { host: record.address, port: Number(port) } : undefined;
  }

  private mark(config: NodeBalancerConfig, node: NodeBalancerConfigNode, status: 'UP' | 'DOWN'): void {
    if (node.status === status) return;
    node.status = status;
    config.nodes_status = {
      up: config.nodes.filter((n) => n.status === 'UP').length,
      down: config.nodes.filter((n) => n.status === 'DOWN').length,
    };
    this.ctx.store.changed();
  }
}

function stop(frontend: Frontend): void {
  clearInterval(frontend.recheck);
  frontend.server.close();
}
