// The account's request budget, spent in order by every activity of this worker process.
// DigitalOcean allows 250 requests in any 60 s (and 5,000 an hour); a request past that is refused
// with 429, and an activity refused that way fails its attempt and waits out Temporal's retry
// backoff, which grows with every refusal. The pacer instead holds each request until the budget
// has room for it, first come first served, so the budget is spent without gaps while there is
// work, and nothing is sent that the API would refuse. When the API refuses anyway (another
// process shares the account) or reports its budget spent, every request waits for the reset.

export interface PacerOptions {
  /** Requests allowed in any window (DigitalOcean: 250 a minute). */
  perWindow: number;
  /** The window, plus a margin for requests that reach the API later than they left here. */
  windowMs?: number;
  now?: () => number;
}

/** A 60 s window with half a second's margin: the API counts a request when it arrives. */
const DEFAULT_WINDOW_MS = 60_500;

export class RequestPacer {
  readonly perWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  /** When each request of the current window was let through, oldest first. */
  private readonly sent: number[] = [];
  private readonly waiting: (() => void)[] = [];
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: PacerOptions) {
    if (!(options.perWindow >= 1)) throw new Error(`a request budget must allow at least 1 request, not ${options.perWindow}`);
    this.perWindow = options.perWindow;
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.now = options.now ?? Date.now;
  }

  /** Resolves when one more request may be sent, and counts it as sent. */
  acquire(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.release();
    });
  }

  /** Nothing is sent before `epochMs` (a 429's retry-after, or a spent budget's reset). */
  pauseUntil(epochMs: number): void {
    if (epochMs <= this.pausedUntil) return;
    this.pausedUntil = epochMs;
    this.release();
  }

  /** Requests waiting for the budget right now. */
  get queued(): number {
    return this.waiting.length;
  }

  private release(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.waiting.length > 0) {
      const now = this.now();
      while (this.sent.length > 0 && (this.sent[0] as number) + this.windowMs <= now) this.sent.shift();
      const readyAt = Math.max(this.pausedUntil, this.sent.length < this.perWindow ? now : (this.sent[0] as number) + this.windowMs);
      if (readyAt > now) {
        this.timer = setTimeout(() => this.release(), readyAt - now);
        return;
      }
      this.sent.push(now);
      (this.waiting.shift() as () => void)();
    }
  }
}
