// Waits for droplets of one account share their polls. Every wait on this worker reads droplet
// states from the board: a poll another wait made after this wait's last look answers it without
// a request of its own, and when more than one droplet is waited for, a poll is one list of the
// account's droplets (200 a page) instead of a GET per droplet. Twenty environments waiting at
// once then cost about one request per poll interval, not twenty.
import type { DigitalOceanClient } from '../../integrations/digitalocean/client';
import { digitalOceanResources, type ApiDroplet } from '../../integrations/digitalocean/resources';

interface Poll {
  /** Polls are numbered as they start: a wait takes only one started after its last look. */
  seq: number;
  /** A list of the whole account answers for every droplet; otherwise only for `ids`. */
  whole: boolean;
  ids: Set<number>;
  result: Promise<Map<number, ApiDroplet>>;
}

export interface BoardLook {
  droplets: ApiDroplet[];
  /** Pass back as `after` on the next look. */
  seq: number;
}

export class DropletBoard {
  private started = 0;
  private latest: Poll | undefined;
  /** Droplet id -> how many waits want it now: more than one droplet makes a poll a list. */
  private readonly wanted = new Map<number, number>();

  constructor(private readonly client: DigitalOceanClient) {}

  /** The poll number a new wait starts from: only polls after it can answer. */
  get now(): number {
    return this.started;
  }

  /** Counts `ids` as waited for while `body` runs. */
  async waitingFor<T>(ids: number[], body: () => Promise<T>): Promise<T> {
    for (const id of ids) this.wanted.set(id, (this.wanted.get(id) ?? 0) + 1);
    try {
      return await body();
    } finally {
      for (const id of ids) {
        const n = (this.wanted.get(id) ?? 1) - 1;
        if (n > 0) this.wanted.set(id, n);
        else this.wanted.delete(id);
      }
    }
  }

  /** The droplets as a poll started after poll number `after` saw them: the newest such poll, or a new one. */
  async look(ids: number[], after: number): Promise<BoardLook> {
    const poll = this.latest && this.latest.seq > after && this.covers(this.latest, ids) ? this.latest : this.poll(ids);
    const seen = await poll.result.catch((err: unknown) => {
      // A failed poll answers no one: the next look asks again.
      if (this.latest === poll) this.latest = undefined;
      throw err;
    });
    const api = digitalOceanResources(this.client);
    // A droplet a whole-account list missed (made after the list began) is asked for by id, as is
    // one that is gone: its GET answers 404 as a wait of its own would see it.
    const droplets = await Promise.all(ids.map(async (id) => seen.get(id) ?? (await api.droplets.get(id))));
    return { droplets, seq: poll.seq };
  }

  private covers(poll: Poll, ids: number[]): boolean {
    return poll.whole || ids.every((id) => poll.ids.has(id));
  }

  private poll(ids: number[]): Poll {
    const api = digitalOceanResources(this.client);
    const whole = new Set([...this.wanted.keys(), ...ids]).size > 1;
    const result = whole
      ? api.droplets.list().then((all) => new Map(all.map((d) => [d.id, d])))
      : Promise.all(ids.map((id) => api.droplets.get(id))).then((some) => new Map(some.map((d) => [d.id, d])));
    const poll: Poll = { seq: ++this.started, whole, ids: new Set(ids), result };
    this.latest = poll;
    return poll;
  }
}

const boards = new WeakMap<DigitalOceanClient, DropletBoard>();

/** One board per account client (the worker keeps one client per account). */
export function dropletBoardOf(client: DigitalOceanClient): DropletBoard {
  let board = boards.get(client);
  if (!board) boards.set(client, (board = new DropletBoard(client)));
  return board;
}
