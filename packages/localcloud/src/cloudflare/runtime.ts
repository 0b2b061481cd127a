// The running part of the Cloudflare emulation, one per local cloud: the health checker and the
// edge. The API routes and the LocalCloud that starts and stops them find it by the cloud's context.
import type { CloudContext } from '../context';
import { Edge } from './edge';
import { HealthChecker } from './health';

export class CloudflareRuntime {
  readonly health: HealthChecker;
  readonly edge: Edge;

  constructor(ctx: CloudContext) {
    this.health = new HealthChecker(ctx.store);
    this.edge = new Edge(ctx.store, this.health);
  }

  /** The edge listens on `host` (a loopback address of the cloud's own); monitors start probing. */
  async start(host: string): Promise<void> {
    await this.edge.start(host);
    this.health.start();
  }

  async stop(): Promise<void> {
    this.health.stop();
    await this.edge.stop();
  }
}

const runtimes = new WeakMap<CloudContext, CloudflareRuntime>();

export function cloudflareRuntime(ctx: CloudContext): CloudflareRuntime {
  let runtime = runtimes.get(ctx);
  if (!runtime) {
    runtime = new CloudflareRuntime(ctx);
    runtimes.set(ctx, runtime);
  }
  return runtime;
}

/** The edge's address: 127.<network>.255.254, in the cloud's own network and never a droplet's (theirs end in .2 to .251). */
export const edgeAddress = (hostNetwork: number) => `127.${hostNetwork}.255.254`;
