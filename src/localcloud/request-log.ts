// Every DigitalOcean API request the local cloud received, in order, with the status it answered:
// how tests show that a refused spec never reached the cloud, and how many calls a run cost.
// Counted from the first request; the most recent `capacity` are kept for listing.

export interface LoggedRequest {
  /** 1 for the first request the cloud received, counting on across resets of the list. */
  seq: number;
  at: string;
  method: string;
  /** Path and query, as sent. */
  url: string;
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

  record(method: string, url: string, status: number): void {
    this.count += 1;
    this.entries.push({ seq: this.count, at: new Date().toISOString(), method, url, status });
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
