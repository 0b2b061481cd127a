// DigitalOcean load balancers that really balance. An active load balancer listens on its address
// (in this cloud's host network, as a NodeBalancer does) at each forwarding rule's entry port and
// passes every connection to one of its droplets at the rule's target port, by round robin
// (balancing/tcp-forwarding.ts, shared with Linode's NodeBalancers). Its droplets are its
// droplet_ids, or the droplets carrying its tag at that moment.
//
// The health check is honoured as DigitalOcean describes it: every check_interval_seconds each
// droplet is checked (tcp: a connection; http/https: a GET of path, answered 2xx or 3xx within
// response_timeout_seconds); healthy_threshold passes in a row put it in rotation,
// unhealthy_threshold failures in a row take it out. A droplet new to the load balancer starts out
// of rotation and gets traffic once it has passed healthy_threshold checks. A droplet that refuses
// a connection is skipped for that connection (the next one is tried: nothing was sent yet).
//
// Not modelled: rules forward at the connection level (an http rule is passed as TCP: one backend
// per connection, no X-Forwarded-For, no TLS termination); udp and http3 rules do not listen;
// sticky sessions, least_connections and PROXY protocol are stored, not applied. Removing a
// droplet stops new connections to it at once; connections it already has run on (DigitalOcean
// documents no draining; opsflow waits itself before it changes a droplet it took out).
import http from 'node:http';
import net from 'node:net';
import type { CloudContext } from '../../context';
import type { ForwardingRule, LoadBalancer } from '../../state';
import { forwardConnection, listenTcp, SmoothWeightedRoundRobin, type ForwardTarget } from '../../balancing/tcp-forwarding';
import { log } from '../../log';

/** DigitalOcean's health check defaults (its OpenAPI spec). */
export const DEFAULT_HEALTH_CHECK: HealthCheck = {
  protocol: 'http',
  port: 80,
  path: '/',
  check_interval_seconds: 10,
  response_timeout_seconds: 5,
  unhealthy_threshold: 5,
  healthy_threshold: 3,
};

export interface HealthCheck {
  protocol: string;
  port: number;
  path: string;
  check_interval_seconds: number;
  response_timeout_seconds: number;
  unhealthy_threshold: number;
  healthy_threshold: number;
}

/** One droplet as the load balancer sees it. */
export interface BackendView {
  droplet_id: number;
  /** In rotation: passed healthy_threshold checks in a row (and not failed unhealthy_threshold since). */
  healthy: boolean;
  /** Checks passed / failed in a row now. */
  passes: number;
  failures: number;
  /** Connections passed to it, by entry port. */
  connections: Record<number, number>;
}

interface Backend {
  healthy: boolean;
  passes: number;
  failures: number;
  connections: Record<number, number>;
}

interface Balancer {
  /** Listeners by entry port. */
  listeners: Map<number, net.Server>;
  rotation: Map<number, SmoothWeightedRoundRobin<number>>;
  backends: Map<number, Backend>;
  checker: NodeJS.Timeout;
  /** The health check the checker runs with (restarted when it changes). */
  checking: string;
  /** Connections no healthy droplet could take, by entry port. */
  unserved: Record<number, number>;
  /** A round of checks is under way (a slow round is not overlapped by the next). */
  checkingNow: boolean;
}

/** The health check a load balancer runs: DigitalOcean's defaults under what was given. */
export function healthCheckOf(lb: Pick<LoadBalancer, 'health_check'>): HealthCheck {
  return { ...DEFAULT_HEALTH_CHECK, ...(lb.health_check as Partial<HealthCheck>) };
}

/** Rules that listen: every one but UDP's (udp, http3). */
const listens = (rule: ForwardingRule) => rule.entry_protocol !== 'udp' && rule.entry_protocol !== 'http3';

export class LoadBalancerTraffic {
  private readonly balancers = new Map<string, Balancer>();
  constructor(private readonly ctx: CloudContext) {}

  /** The droplets a load balancer sends to now: its droplet_ids, or those carrying its tag. */
  members(lb: LoadBalancer): number[] {
    const droplets = this.ctx.store.state.droplets;
    if (lb.tag) return droplets.filter((d) => d.tags.includes(lb.tag)).map((d) => d.id);
    return lb.droplet_ids.filter((id) => droplets.some((d) => d.id === id));
  }

  /** Listens for every active load balancer's rules, stops for those gone or changed; checks follow the health check. */
  sync(): void {
    const wanted = new Map(this.ctx.store.state.loadBalancers.filter((lb) => lb.status === 'active').map((lb) => [lb.id, lb]));
    for (const [id, balancer] of this.balancers)
      if (!wanted.has(id)) {
        stop(balancer);
        this.balancers.delete(id);
      }
    for (const [id, lb] of wanted) {
      let balancer = this.balancers.get(id);
      const check = healthCheckOf(lb);
      const checking = JSON.stringify(check);
      if (balancer && balancer.checking !== checking) {
        clearInterval(balancer.checker);
        balancer.checker = this.startChecker(id, check);
        balancer.checking = checking;
      }
      if (!balancer) {
        balancer = {
          listeners: new Map(),
          rotation: new Map(),
          backends: new Map(),
          checker: this.startChecker(id, check),
          checking,
          unserved: {},
          checkingNow: false,
        };
        this.balancers.set(id, balancer);
        // The first round at once: a new load balancer's droplets start being counted now.
        void this.checkAll(id);
      }
      const ports = new Set(lb.forwarding_rules.filter(listens).map((r) => r.entry_port));
      for (const [port, server] of balancer.listeners)
        if (!ports.has(port)) {
          server.close();
          balancer.listeners.delete(port);
        }
      for (const port of ports)
        if (!balancer.listeners.has(port))
          balancer.listeners.set(
            port,
            listenTcp(
              lb.ip,
              port,
              (socket) => this.forward(id, port, socket),
              (error) => log.error('load balancer could not listen', { id, address: lb.ip, port, error: error.message }),
            ),
          );
    }
  }

  close(): void {
    for (const balancer of this.balancers.values()) stop(balancer);
    this.balancers.clear();
  }

  /** Each droplet of the load balancer: in rotation or not, its checks in a row, the connections it got. */
  backends(lbId: string): BackendView[] {
    const lb = this.loadBalancer(lbId);
    const balancer = this.balancers.get(lbId);
    if (!lb || !balancer) return [];
    return this.members(lb).map((id) => {
      const backend = balancer.backends.get(id);
      return {
        droplet_id: id,
        healthy: backend?.healthy ?? false,
        passes: backend?.passes ?? 0,
        failures: backend?.failures ?? 0,
        connections: { ...(backend?.connections ?? {}) },
      };
    });
  }

  /** Connections passed to each droplet (by droplet id) since the load balancer started listening, and those no droplet took. */
  counts(lbId: string): { byDroplet: Record<number, number>; unserved: number } {
    const balancer = this.balancers.get(lbId);
    const byDroplet: Record<number, number> = {};
    for (const [id, backend] of balancer?.backends ?? []) byDroplet[id] = Object.values(backend.connections).reduce((sum, n) => sum + n, 0);
    return { byDroplet, unserved: Object.values(balancer?.unserved ?? {}).reduce((sum, n) => sum + n, 0) };
  }

  private loadBalancer(id: string): LoadBalancer | undefined {
    return this.ctx.store.state.loadBalancers.find((l) => l.id === id && l.status === 'active');
  }

  private startChecker(lbId: string, check: HealthCheck): NodeJS.Timeout {
    return setInterval(() => void this.checkAll(lbId), Math.max(1, check.check_interval_seconds) * 1000).unref();
  }

  private async checkAll(lbId: string): Promise<void> {
    const lb = this.loadBalancer(lbId);
    const balancer = this.balancers.get(lbId);
    if (!lb || !balancer || balancer.checkingNow) return;
    balancer.checkingNow = true;
    try {
      await this.checkRound(lb, balancer);
    } finally {
      balancer.checkingNow = false;
    }
  }

  private async checkRound(lb: LoadBalancer, balancer: Balancer): Promise<void> {
    const check = healthCheckOf(lb);
    const members = this.members(lb);
    // A droplet that left is forgotten: if it comes back, it starts out of rotation again.
    for (const id of [...balancer.backends.keys()]) if (!members.includes(id)) balancer.backends.delete(id);
    for (const rotation of balancer.rotation.values()) rotation.keepOnly(members);
    await Promise.all(
      members.map(async (id) => {
        const target = this.hostOf(id, check.port);
        const passed = target ? await probe(target, check) : false;
        // Left while it was checked: nothing to record.
        if (!this.members(lb).includes(id)) return;
        const backend = balancer.backends.get(id) ?? { healthy: false, passes: 0, failures: 0, connections: {} };
        balancer.backends.set(id, backend);
        if (passed) {
          backend.passes++;
          backend.failures = 0;
          if (!backend.healthy && backend.passes >= check.healthy_threshold) backend.healthy = true;
        } else {
          backend.failures++;
          backend.passes = 0;
          if (backend.healthy && backend.failures >= check.unhealthy_threshold) backend.healthy = false;
        }
      }),
    );
  }

  /** Passes the connection to the next healthy droplet; one that refuses it is skipped. */
  private forward(lbId: string, entryPort: number, client: net.Socket): void {
    const lb = this.loadBalancer(lbId);
    const balancer = this.balancers.get(lbId);
    const rule = lb?.forwarding_rules.find((r) => r.entry_port === entryPort && listens(r));
    if (!lb || !balancer || !rule) return void client.destroy();
    let rotation = balancer.rotation.get(entryPort);
    if (!rotation) balancer.rotation.set(entryPort, (rotation = new SmoothWeightedRoundRobin<number>()));
    const healthy = this.members(lb).filter((id) => balancer.backends.get(id)?.healthy);
    forwardConnection<number>(client, {
      pick: (tried) =>
        rotation.pick(
          healthy.filter((id) => !tried.has(id)),
          (id) => id,
          () => 1,
        ),
      target: (id) => this.hostOf(id, rule.target_port),
      connected: (id) => {
        const backend = balancer.backends.get(id);
        if (backend) backend.connections[entryPort] = (backend.connections[entryPort] ?? 0) + 1;
      },
      unserved: (socket) => {
        balancer.unserved[entryPort] = (balancer.unserved[entryPort] ?? 0) + 1;
        // DigitalOcean answers an HTTP request it cannot place with 503.
        if (rule.entry_protocol === 'http' || rule.entry_protocol === 'http2')
          socket.end(
            'HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 20\r\nconnection: close\r\n\r\nno healthy droplets\n',
          );
        else socket.destroy();
      },
    });
  }

  /** The droplet's host address (its public IPv4 here) and a port. */
  private hostOf(dropletId: number, port: number): ForwardTarget | undefined {
    const record = this.ctx.store.state.internal.hosts[dropletId];
    const active = this.ctx.store.state.droplets.some((d) => d.id === dropletId && d.status === 'active');
    return record && active ? { host: record.address, port } : undefined;
  }
}

/** One health check of one droplet: true if it passed. */
function probe(target: ForwardTarget, check: HealthCheck): Promise<boolean> {
  const timeoutMs = Math.max(1, check.response_timeout_seconds) * 1000;
  return new Promise((resolve) => {
    if (check.protocol === 'tcp') {
      // A check in flight never keeps the process alive (a stopped cloud's last round may still run).
      const socket = net.connect(target.port, target.host).unref();
      const done = (passed: boolean) => {
        socket.destroy();
        resolve(passed);
      };
      socket.setTimeout(timeoutMs, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      return;
    }
    // https checks are sent as plain HTTP: the local cloud's applications answer HTTP.
    const request = http.get(
      { host: target.host, port: target.port, path: check.path || '/', agent: false, timeout: timeoutMs },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        resolve(status >= 200 && status < 400);
      },
    );
    request.on('socket', (socket) => socket.unref());
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => resolve(false));
  });
}

function stop(balancer: Balancer): void {
  clearInterval(balancer.checker);
  for (const server of balancer.listeners.values()) server.close();
  balancer.listeners.clear();
}

const runtimes = new WeakMap<CloudContext, LoadBalancerTraffic>();

/** The cloud's load balancer traffic (one per cloud context). */
export function loadBalancerTraffic(ctx: CloudContext): LoadBalancerTraffic {
  let traffic = runtimes.get(ctx);
  if (!traffic) {
    traffic = new LoadBalancerTraffic(ctx);
    runtimes.set(ctx, traffic);
  }
  return traffic;
}
