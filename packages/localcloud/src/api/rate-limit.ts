// The account-wide rate limit: 250 requests a minute and 5,000 an hour by default, reported on
// every response in `ratelimit-limit`, `ratelimit-remaining` and `ratelimit-reset` (epoch seconds).

export interface RateLimitBudget {
  perMinute: number;
  perHour: number;
}

export interface RateLimitVerdict {
  allowed: boolean;
  headers: Record<string, string>;
}

export class RateLimiter {
  private readonly minute: number[] = [];
  private readonly hour: number[] = [];

  constructor(
    public budget: RateLimitBudget = { perMinute: 250, perHour: 5000 },
    private readonly now: () => number = Date.now,
  ) {}

  take(): RateLimitVerdict {
    const now = this.now();
    drop(this.minute, now - 60_000);
    drop(this.hour, now - 3_600_000);
    const allowed = this.minute.length < this.budget.perMinute && this.hour.length < this.budget.perHour;
    if (allowed) {
      this.minute.push(now);
      this.hour.push(now);
    }
    const remaining = Math.max(0, Math.min(this.budget.perHour - this.hour.length, this.budget.perMinute - this.minute.length));
    // When the window that is the tighter constraint frees its oldest slot.
    const minuteBound = this.minute.length >= this.budget.perMinute;
    const oldest = minuteBound ? (this.minute[0] ?? now) + 60_000 : (this.hour[0] ?? now) + 3_600_000;
    const reset = Math.ceil(oldest / 1000);
    const headers: Record<string, string> = {
      'ratelimit-limit': String(this.budget.perHour),
      'ratelimit-remaining': String(remaining),
      'ratelimit-reset': String(reset),
    };
    if (!allowed) headers['retry-after'] = String(Math.max(1, reset - Math.floor(now / 1000)));
    return { allowed, headers };
  }

  reset(): void {
    this.minute.length = 0;
    this.hour.length = 0;
  }
}

/**
 * The account's budget, and a second one as large for requests without a valid token: those are
 * counted and limited too (a 401 reports where that budget stands), but never spend the account's.
 */
export class RateLimits {
  readonly account: RateLimiter;
  readonly anonymous: RateLimiter;

  constructor(budget?: RateLimitBudget) {
    this.account = new RateLimiter(budget && { ...budget });
    this.anonymous = new RateLimiter(budget && { ...budget });
  }

  get budget(): RateLimitBudget {
    return this.account.budget;
  }

  set budget(budget: RateLimitBudget) {
    this.account.budget = { ...budget };
    this.anonymous.budget = { ...budget };
    this.reset();
  }

  reset(): void {
    this.account.reset();
    this.anonymous.reset();
  }
}

function drop(window: number[], before: number): void {
  while (window.length > 0 && (window[0] as number) <= before) window.shift();
}
