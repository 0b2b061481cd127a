// What the local cloud's load balancers share (Linode's NodeBalancers, DigitalOcean's load
// balancers): smooth weighted round robin over the backends that may take a connection, and a TCP
// connection passed whole to one backend. A backend that refuses the connection is skipped and the
// next one tried, so a client never sees a backend that is down (nothing was sent to it yet).
import net from 'node:net';

/** Where a backend answers: a droplet's (or instance's) host address and a port. */
export interface ForwardTarget {
  host: string;
  port: number;
}

/** nginx's smooth weighted round robin: over N picks, each backend gets weight/total of them, evenly spread. */
export class SmoothWeightedRoundRobin<K> {
  private readonly current = new Map<K, number>();

  pick<T>(pool: readonly T[], key: (item: T) => K, weight: (item: T) => number): T | undefined {
    if (pool.length === 0) return undefined;
    const total = pool.reduce((sum, item) => sum + weight(item), 0);
    let best: T | undefined;
    for (const item of pool) {
      const k = key(item);
      this.current.set(k, (this.current.get(k) ?? 0) + weight(item));
      if (best === undefined || (this.current.get(k) as number) > (this.current.get(key(best)) as number)) best = item;
    }
    const chosen = key(best as T);
    this.current.set(chosen, (this.current.get(chosen) as number) - total);
    return best;
  }

  /** Forgets backends no longer in the pool (a backend that comes back starts afresh). */
  keepOnly(keys: Iterable<K>): void {
    const kept = new Set(keys);
    for (const k of [...this.current.keys()]) if (!kept.has(k)) this.current.delete(k);
  }
}

/** How one balancer chooses and learns: which backend next, where it is, and what happened. */
export interface Forwarding<B> {
  /** The backend for this connection, among those not tried yet; undefined when none is left. */
  pick(tried: ReadonlySet<B>): B | undefined;
  /** Where the backend answers now (undefined: it has no address any more, so it is skipped). */
  target(backend: B): ForwardTarget | undefined;
  /** The backend accepted the connection (it is passed there). */
  connected?(backend: B): void;
  /** The backend refused the connection (the next one is tried). */
  refused?(backend: B): void;
  /** No backend could take the connection: answer the client (default: close it). */
  unserved?(client: net.Socket): void;
}

/** Passes the client's connection to a backend the forwarding picks; a backend that refuses is skipped. */
export function forwardConnection<B>(client: net.Socket, forwarding: Forwarding<B>, tried: Set<B> = new Set()): void {
  let backend: B | undefined;
  let target: ForwardTarget | undefined;
  for (;;) {
    backend = forwarding.pick(tried);
    if (backend === undefined) break;
    target = forwarding.target(backend);
    if (target) break;
    tried.add(backend);
  }
  if (backend === undefined || !target) {
    if (forwarding.unserved) forwarding.unserved(client);
    else client.destroy();
    return;
  }
  const chosen = backend;
  client.pause();
  const upstream = net.connect(target.port, target.host);
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    forwarding.connected?.(chosen);
    client.pipe(upstream).pipe(client);
    client.resume();
  });
  upstream.once('error', () => {
    if (connected) return client.destroy();
    forwarding.refused?.(chosen);
    tried.add(chosen);
    forwardConnection(client, forwarding, tried);
  });
  upstream.once('close', () => connected && client.end());
  client.once('error', () => upstream.destroy());
  client.once('close', () => upstream.destroy());
}

/** A TCP listener on address:port whose connections go to `onConnection`; errors (address in use) are reported, not thrown. */
export function listenTcp(
  address: string,
  port: number,
  onConnection: (socket: net.Socket) => void,
  onError: (error: Error) => void,
): net.Server {
  const server = net.createServer(onConnection);
  server.on('error', onError);
  server.listen(port, address);
  return server;
}
