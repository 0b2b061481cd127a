// A long error is said once: when several targets fail for the same reason (zstd refused for each
// of five databases and a directory, a missing bucket for every upload and the retention step),
// the reason is written once after all their names, not once per name. Pure, so workflows use it
// for their failure messages.

/** `backupDatabase: ` and the like, which describeError puts before an activity's message. */
const STEP_PREFIX = /^[a-z]+[A-Z][A-Za-z]*: /;
/** A shared tail shorter than this is too generic to merge reasons by ("timed out"). */
const MIN_SHARED_TAIL = 30;

interface Group {
  who: string[];
  reason: string;
}

/** Merges groups whose reasons end the same after their first clause (`upload of <key>: X`). */
function mergeByTail(groups: Group[]): Group[] {
  const tailOf = (shown: string) => {
    const reason = shown.replace(STEP_PREFIX, '');
    const split = reason.indexOf(': ');
    const tail = split < 0 ? '' : reason.slice(split + 2);
    return tail.length >= MIN_SHARED_TAIL ? tail : undefined;
  };
  const byTail = new Map<string, Group[]>();
  for (const g of groups) {
    const tail = tailOf(g.reason);
    if (tail !== undefined) byTail.set(tail, [...(byTail.get(tail) ?? []), g]);
  }
  const merged: Group[] = [];
  const done = new Set<Group>();
  for (const g of groups) {
    if (done.has(g)) continue;
    const tail = tailOf(g.reason);
    const same = tail !== undefined ? (byTail.get(tail) ?? [g]) : [g];
    same.forEach((s) => done.add(s));
    merged.push(same.length > 1 ? { who: same.flatMap((s) => s.who), reason: tail as string } : g);
  }
  return merged;
}

/**
 * Lines of the form `who: what went wrong`, grouped by what went wrong: `a, b, retention: X`.
 * Reasons that differ only by the step that reported them (`backupDatabase: X`, `X`) or by their
 * first clause (`upload of <key>: X`) count as one, said as X. Order follows first appearance.
 */
export function saidOnce(lines: readonly string[]): string[] {
  const exact = new Map<string, Group>();
  const out: (Group | string)[] = [];
  for (const line of lines) {
    const split = line.indexOf(': ');
    if (split < 0) {
      if (!out.includes(line)) out.push(line);
      continue;
    }
    const who = line.slice(0, split);
    const reason = line.slice(split + 2);
    const key = reason.replace(STEP_PREFIX, '');
    const group = exact.get(key);
    if (group) {
      if (!group.who.includes(who)) group.who.push(who);
      if (group.reason !== reason) group.reason = key; // steps differ: say the reason without one
    } else {
      const created = { who: [who], reason };
      exact.set(key, created);
      out.push(created);
    }
  }
  const groups = mergeByTail(out.filter((o): o is Group => typeof o !== 'string'));
  return [...groups.map((g) => `${g.who.join(', ')}: ${g.reason}`), ...out.filter((o): o is string => typeof o === 'string')];
}

/**
 * Messages of a failure and its causes, outermost first, joined by ": ", each said once: a
 * cause whose message the text already holds is not appended again, and a cause that holds the
 * whole text so far replaces it.
 */
export function chainOnce(messages: readonly string[]): string {
  let text = '';
  for (const raw of messages) {
    const message = raw.trim();
    if (!message || text.includes(message)) continue;
    text = !text || message.includes(text) ? message : `${text}: ${message}`;
  }
  return text;
}
