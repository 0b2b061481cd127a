// Pool health, as Cloudflare's monitors establish it: every enabled origin of every pool with a
// monitor is probed each `interval` seconds; an origin turns unhealthy after `consecutive_down`
// failed checks (at least one) and healthy again after `consecutive_up` good ones. A pool is
// healthy while at least `minimum_origins` of its enabled origins are. Origins of a pool without
// a monitor count as healthy, as at Cloudflare; so does an origin not yet probed.
import { EventEmitter } from 'node:events';
import type { Store } from '../store';
import { probeOrigin, type ProbeResult } from './probe';
import { cloudflareState, type StoredMonitor, type StoredPool } from './state';

export interface OriginHealth extends ProbeResult {
  /** Checks run so far, good and failed in a row. */
  checks: number;
  goodInARow: number;
  failedInARow: number;
}

/** How often the checker looks for pools whose probes are due (their intervals are whole seconds). */
const SWEEP_MS = 100;
export const DEFAULT_ORIGIN_PORT = 80;

export const originKey = (poolId: string, originName: string) => `${poolId}/${originName}`;

export class HealthChecker extends EventEmitter {
  private readonly origins = new Map<string, OriginHealth>();
  private readonly due = new Map<string, { at: number; signature: string }>();
  private readonly running = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: Store) {
    super();
  }

  start(): void {
    this.timer ??= setInterval(() => this.sweep(), SWEEP_MS);
    this.timer.unref();
    this.sweep();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  originHealth(poolId: string, originName: string): OriginHealth | undefined {
    return this.origins.get(originKey(poolId, originName));
  }

  isOriginHealthy(pool: StoredPool, originName: string): boolean {
    if (!pool.monitor) return true;
    return this.originHealth(pool.id, originName)?.healthy ?? true;
  }

  isPoolHealthy(pool: StoredPool): boolean {
    if (pool.enabled === false) return false;
    const up = pool.origins.filter((o) => o.enabled !== false && this.isOriginHealthy(pool, o.name ?? '')).length;
    return up >= Math.max(1, pool.minimum_origins ?? 1);
  }

  /** Checks finished for a pool (for tests: wait for a check that started after a change). */
  checksOf(poolId: string): number {
    const counts = [...this.origins.entries()].filter(([k]) => k.startsWith(`${poolId}/`)).map(([, h]) => h.checks);
    return counts.length ? Math.min(...counts) : 0;
  }

  private sweep(): void {
    const state = cloudflareState(this.store);
    const now = Date.now();
    for (const pool of state.pools) {
      const monitor = state.monitors.find((m) => m.id === pool.monitor);
      if (!monitor || pool.enabled === false || this.running.has(pool.id)) continue;
      // A changed pool or monitor is checked at once, not at the end of the old interval.
      const signature = JSON.stringify([monitor, pool.origins, pool.minimum_origins]);
      const due = this.due.get(pool.id);
      if (due && due.signature === signature && due.at > now) continue;
      if (due && due.signature !== signature) this.forgetPool(pool.id);
      this.due.set(pool.id, { at: now + (monitor.interval ?? 60) * 1000, signature });
      this.running.add(pool.id);
      void this.check(pool, monitor).finally(() => this.running.delete(pool.id));
    }
  }

  private forgetPool(poolId: string): void {
    for (const key of [...this.origins.keys()]) if (key.startsWith(`${poolId}/`)) this.origins.delete(key);
  }

  private async check(pool: StoredPool, monitor: StoredMonitor): Promise<void> {
    const wasHealthy = this.isPoolHealthy(pool);
    await Promise.all(
      pool.origins
        .filter((o) => o.enabled !== false)
        .map(async (origin) => {
          const port = monitor.port || origin.port || DEFAULT_ORIGIN_PORT;
          const result = await probeOrigin(monitor, { address: origin.address ?? '', port });
          const key = originKey(pool.id, origin.name ?? '');
          const before = this.origins.get(key);
          const goodInARow = result.healthy ? (before?.goodInARow ?? 0) + 1 : 0;
          const failedInARow = result.healthy ? 0 : (before?.failedInARow ?? 0) + 1;
          const wasUp = before?.healthy ?? true;
          const healthy = wasUp
            ? failedInARow < Math.max(1, monitor.consecutive_down ?? 0)
            : goodInARow >= Math.max(1, monitor.consecutive_up ?? 0);
          this.origins.set(key, { ...result, healthy, checks: (before?.checks ?? 0) + 1, goodInARow, failedInARow });
        }),
    );
    this.emit('checked', pool.id);
    if (wasHealthy !== this.isPoolHealthy(pool)) this.emit('change', pool.id, !wasHealthy);
  }
}
