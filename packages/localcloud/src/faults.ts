// Faults on demand, seeded so a failing run can be repeated: error rates and latency per endpoint,
// the next N actions of a type failing or held in progress, regions going dark, hosts refusing SSH.
import { z } from 'zod';

export const faultConfigSchema = z.object({
  seed: z.number().int().default(1),
  rules: z
    .array(
      z.object({
        method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).optional(),
        /** Path prefix, such as /v2/droplets; '/' matches every API call. */
        path: z.string().startsWith('/'),
        errorRate: z.number().min(0).max(1).default(0),
        statuses: z
          .array(z.union([z.literal(429), z.literal(500), z.literal(502), z.literal(503)]))
          .min(1)
          .default([500]),
        latencyMs: z.number().int().min(0).max(60_000).default(0),
        /** The request is carried out but its response is lost: the client sees the error. */
        loseResponse: z.boolean().default(false),
      }),
    )
    .default([]),
  failNextActions: z.record(z.string(), z.number().int().min(0)).default({}),
  /** Actions of these types (power_off, assign_ip, ...) stay in-progress until faults are set without them. */
  holdActions: z.array(z.string().min(1)).default([]),
  darkRegions: z.array(z.string()).default([]),
  /** Droplets (by id, or by name for droplets not created yet) whose SSH refuses connections. */
  refuseSsh: z.array(z.union([z.number().int(), z.string().min(1)])).default([]),
});

export type FaultConfig = z.infer<typeof faultConfigSchema>;

export interface FaultDecision {
  latencyMs: number;
  status?: number;
  /** Carry the request out, then answer with `status` as if the response were lost. */
  afterHandling?: boolean;
}

export class Faults {
  private config: FaultConfig = faultConfigSchema.parse({});
  private random: () => number = mulberry32(1);
  private readonly listeners: (() => void)[] = [];

  set(input: unknown): FaultConfig {
    this.config = faultConfigSchema.parse(input);
    this.random = mulberry32(this.config.seed);
    for (const listener of this.listeners) listener();
    return this.config;
  }

  /** Called after every change (the action engine lets go of actions no longer held). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  get current(): FaultConfig {
    return this.config;
  }

  decide(method: string, path: string): FaultDecision {
    let latencyMs = 0;
    for (const rule of this.config.rules) {
      if (rule.method && rule.method !== method) continue;
      if (!path.startsWith(rule.path)) continue;
      latencyMs = Math.max(latencyMs, rule.latencyMs);
      if (rule.errorRate > 0 && this.random() < rule.errorRate) {
        const status = rule.statuses[Math.floor(this.random() * rule.statuses.length)] as number;
        return { latencyMs, status, afterHandling: rule.loseResponse };
      }
    }
    return { latencyMs };
  }

  /** True (and counted) when the next action of this type must fail. */
  takeActionFailure(type: string): boolean {
    const left = this.config.failNextActions[type] ?? 0;
    if (left <= 0) return false;
    this.config.failNextActions[type] = left - 1;
    return true;
  }

  holdsAction(type: string): boolean {
    return this.config.holdActions.includes(type);
  }

  isDark(regionSlug: string | undefined): boolean {
    return regionSlug !== undefined && this.config.darkRegions.includes(regionSlug);
  }

  refusesSsh(dropletId: number, dropletName?: string): boolean {
    return this.config.refuseSsh.includes(dropletId) || (dropletName !== undefined && this.config.refuseSsh.includes(dropletName));
  }
}

/** A small seeded PRNG: the same seed gives the same fault sequence. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
