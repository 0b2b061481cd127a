// MariaDB GTID positions ("0-11-42,1-12-7": domain-server-sequence, one per replication domain)
// and the arithmetic failover needs: within a domain sequence numbers only grow, one per
// transaction, so "how many transactions does A have that B has not" is, per domain, the
// difference of sequence numbers. Pure: workflows and activities share it.

/** Sequence number per domain (the server id is where a transaction was first written, not needed here). */
export type GtidPosition = Record<string, number>;

/** Each domain-server-sequence of a GTID list, checked. */
function gtids(text: string | null | undefined): { domain: string; server: string; seq: number }[] {
  return (text ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((part) => {
      const match = /^(\d+)-(\d+)-(\d+)$/.exec(part);
      if (!match) throw new Error(`not a MariaDB GTID: ${JSON.stringify(part)} (expected domain-server-sequence)`);
      return { domain: match[1]!, server: match[2]!, seq: Number(match[3]) };
    });
}

/** The highest sequence number under each key. */
function highest(list: { key: string; seq: number }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { key, seq } of list) out[key] = Math.max(out[key] ?? 0, seq);
  return out;
}

export function parseGtidPosition(text: string | null | undefined): GtidPosition {
  return highest(gtids(text).map((g) => ({ key: g.domain, seq: g.seq })));
}

/** Transactions in `ahead` that `behind` does not have, summed over domains (0 when `behind` has them all). */
export function transactionsMissing(ahead: GtidPosition, behind: GtidPosition): number {
  let missing = 0;
  for (const [domain, seq] of Object.entries(ahead)) missing += Math.max(0, seq - (behind[domain] ?? 0));
  return missing;
}

/** Whether `position` holds every transaction of `target`. */
export function covers(position: GtidPosition, target: GtidPosition): boolean {
  return transactionsMissing(target, position) === 0;
}

/**
 * MariaDB's gtid_binlog_state: the last sequence number written per domain and server id
 * ("0-61-38,0-62-600" -> {"0-61": 38, "0-62": 600}). Unlike the position, it tells apart two
 * servers that used the same sequence number in a domain: the mark of a diverged server.
 */
export type GtidState = Record<string, number>;

export function parseGtidState(text: string | null | undefined): GtidState {
  return highest(gtids(text).map((g) => ({ key: `${g.domain}-${g.server}`, seq: g.seq })));
}

/**
 * Transactions `server` wrote (under any server id) that `primary` never had: per domain and
 * server id, how far the server's last sequence number is past the primary's. A server id the
 * primary never saw counts as at least one. 0 when the server's binlog is all in the primary's.
 * `primaryFloor`, the primary's gtid_slave_pos: a primary re-seeded from a copy (its binlog reset,
 * the copy loaded unlogged) has everything up to that GTID without it in its binlog state; when the
 * server's own binlog holds that GTID too, their histories meet there, so whatever the server holds
 * at or below its sequence number in that domain is the primary's as well.
 */
export function errantAgainst(server: GtidState, primary: GtidState, primaryFloor?: string): number {
  const floor: Record<string, number> = {};
  for (const g of gtids(primaryFloor))
    if ((server[`${g.domain}-${g.server}`] ?? -1) >= g.seq) floor[g.domain] = Math.max(floor[g.domain] ?? 0, g.seq);
  let errant = 0;
  for (const [key, seq] of Object.entries(server)) {
    const shared = floor[key.split('-')[0]!];
    const had = Math.max(primary[key] ?? -1, shared ?? -1);
    if (had < 0) errant += 1;
    else errant += Math.max(0, seq - had);
  }
  return errant;
}
