// Every request the local cloud received, in order, with the status it answered (all but the
// control calls that carried the control token): how tests show that a refused spec never reached
// the cloud, how many calls a run cost, and what was tried without a token.
// Counted from the first request; the most recent `capacity` are kept for listing.

export interface LoggedRequest {
  /** 1 for the first request the cloud received, counting on across resets of the list. */
  seq: number;
  at: string;
  method: string;
  /** Path and query as the checks and the router saw them (decoded, normalized). */
  url: string;
  /** Path and query as sent, when that differs from `url`. */
  sent?: string;
  status: number;
}

export class RequestLog {
  private entries: LoggedRequest[] = [];
  private count = 0;

  constructor(readonly capacity = 10_000) {}

  /** How many requests were received since the start (or the last clear). */
  get total(): number {
    return this.count;
  }

  record(method: string, url: string, status: number, sent = url): void {
    this.count += 1;
    this.entries.push({ seq: this.count, at: new Date().toISOString(), method, url, ...(sent !== url ? { sent } : {}), status });
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  /** Requests after sequence number `since` (all kept ones by default), oldest first. */
  list(since = 0): { total: number; requests: LoggedRequest[] } {
    return { total: this.count, requests: this.entries.filter((entry) => entry.seq > since) };
  }

  clear(): void {
    this.entries = [];
    this.count = 0;
  }
}
