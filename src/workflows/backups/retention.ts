// Which backups to keep: every backup for N days, the newest of each recent ISO week and month,
// and always the newest verified ones. Pure, so applyRetention can decide it inside a workflow.
import type { RetentionRules } from '../../specs/backup-policy';
import { failure, STEP_FAILURE } from '../shared/failures';

export interface BackupRecord {
  key: string;
  /** ISO timestamp of when the backup was taken. */
  takenAt: string;
  verified: boolean;
}

export interface RetentionDecision {
  keep: string[];
  remove: string[];
  /** Why each kept backup is kept. */
  reasons: Record<string, string[]>;
}

const DAY_MS = 86_400_000;

/** ISO week key such as 2026-W09 (weeks start on Monday; week 1 holds the first Thursday). */
export function isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / DAY_MS + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

const monthKey = (date: Date) => `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;

/** The last `count` period keys ending at `now`, newest first. */
function recentPeriods(now: Date, count: number, keyOf: (d: Date) => string, step: (d: Date, n: number) => Date): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count && i < count * 2; i++) {
    const key = keyOf(step(now, i));
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}

export function decideRetention(backups: BackupRecord[], rules: RetentionRules, now: Date): RetentionDecision {
  const newestFirst = [...backups].sort((a, b) => b.takenAt.localeCompare(a.takenAt));
  const reasons: Record<string, string[]> = {};
  const keep = (b: BackupRecord, why: string) => (reasons[b.key] ??= []).push(why);

  const cutoff = now.getTime() - rules.keepDays * DAY_MS;
  for (const b of newestFirst) if (Date.parse(b.takenAt) >= cutoff) keep(b, `within ${rules.keepDays} days`);

  const newestIn = (keyOf: (d: Date) => string, periods: string[], label: string) => {
    for (const period of periods) {
      const inPeriod = newestFirst.filter((b) => keyOf(new Date(b.takenAt)) === period);
      const chosen = inPeriod.find((b) => b.verified) ?? inPeriod[0];
      if (chosen) keep(chosen, `${label} ${period}`);
    }
  };
  newestIn(
    isoWeek,
    recentPeriods(now, rules.keepWeekly, isoWeek, (d, n) => new Date(d.getTime() - n * 7 * DAY_MS)),
    'newest of week',
  );
  newestIn(
    monthKey,
    recentPeriods(now, rules.keepMonthly, monthKey, (d, n) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - n, 1))),
    'newest of month',
  );

  for (const b of newestFirst.filter((x) => x.verified).slice(0, rules.minVerified))
    keep(b, `one of the newest ${rules.minVerified} verified`);

  return {
    keep: newestFirst.filter((b) => reasons[b.key]).map((b) => b.key),
    remove: newestFirst.filter((b) => !reasons[b.key]).map((b) => b.key),
    reasons,
  };
}

/**
 * decideRetention, checked against the one promise retention must never break (belt and braces):
 * the newest `minVerified` verified backups (of `backups` as listed, newest first) are kept;
 * RetentionFloorBreached otherwise, and nothing is deleted.
 */
export function decideRetentionKeepingFloor(backups: BackupRecord[], rules: RetentionRules, now: Date): RetentionDecision {
  const decision = decideRetention(backups, rules, now);
  const floor = backups
    .filter((b) => b.verified)
    .slice(0, rules.minVerified)
    .map((b) => b.key);
  const breach = floor.filter((k) => decision.remove.includes(k));
  if (breach.length)
    throw failure(STEP_FAILURE.RetentionFloorBreached, `retention would delete the newest verified backups ${breach.join(', ')}`);
  return decision;
}
