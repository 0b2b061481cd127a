// Retention over simulated days: exactly the expected daily, weekly and monthly set, and the floor
// of verified backups when the latest runs failed.
import { decideRetention, isoWeek, type BackupRecord } from '../../src/workflows/backups/retention';

const day = (iso: string) => `${iso}T02:00:00.000Z`;

/** Nightly backups at 02:00 UTC from 2026-01-01 for `days` days, applying retention after each. */
function simulate(
  days: number,
  rules: Parameters<typeof decideRetention>[1],
  failedFromDay = Infinity,
): { kept: string[]; minVerifiedSeen: number } {
  let backups: BackupRecord[] = [];
  let minVerifiedSeen = Infinity;
  for (let i = 0; i < days; i++) {
    const takenAt = new Date(Date.UTC(2026, 0, 1 + i, 2)).toISOString();
    backups.push({ key: takenAt.slice(0, 10), takenAt, verified: i < failedFromDay });
    const now = new Date(Date.UTC(2026, 0, 1 + i, 12));
    const decision = decideRetention(backups, rules, now);
    backups = backups.filter((b) => decision.keep.includes(b.key));
    // Once three verified backups have existed, fewer must never remain.
    if (i >= 2) minVerifiedSeen = Math.min(minVerifiedSeen, backups.filter((b) => b.verified).length);
  }
  return { kept: backups.map((b) => b.key).sort(), minVerifiedSeen };
}

test('ISO weeks', () => {
  expect(isoWeek(new Date(day('2026-03-01')))).toBe('2026-W09'); // a Sunday
  expect(isoWeek(new Date(day('2026-02-23')))).toBe('2026-W09'); // its Monday
  expect(isoWeek(new Date(day('2026-01-01')))).toBe('2026-W01');
  expect(isoWeek(new Date(day('2027-01-01')))).toBe('2026-W53');
});

test('60 days of nightly backups keep exactly 7 daily, 4 weekly and 3 monthly (11 in all, overlaps counted once)', () => {
  const { kept } = simulate(60, { keepDays: 7, keepWeekly: 4, keepMonthly: 3, minVerified: 3 });
  // Day 60 is Sunday 2026-03-01. Daily: Feb 23 - Mar 1. Weekly (newest of W09, W08, W07, W06):
  // Mar 1, Feb 22, Feb 15, Feb 8. Monthly (newest of March, February, January): Mar 1, Feb 28, Jan 31.
  expect(kept).toEqual([
    '2026-01-31',
    '2026-02-08',
    '2026-02-15',
    '2026-02-22',
    '2026-02-23',
    '2026-02-24',
    '2026-02-25',
    '2026-02-26',
    '2026-02-27',
    '2026-02-28',
    '2026-03-01',
  ]);
});

test('with the last five runs failed, the floor keeps the newest verified backups', () => {
  const { kept, minVerifiedSeen } = simulate(60, { keepDays: 3, keepWeekly: 0, keepMonthly: 0, minVerified: 3 }, 55);
  // Runs 56-60 (Feb 25 - Mar 1) produced unverified backups. Within 3 days: Feb 27, 28, Mar 1.
  // Floor: the newest three verified, Feb 22, 23, 24, which age alone would have removed.
  expect(kept).toEqual(['2026-02-22', '2026-02-23', '2026-02-24', '2026-02-27', '2026-02-28', '2026-03-01']);
  expect(minVerifiedSeen).toBeGreaterThanOrEqual(3);
});

test('each kept backup says why', () => {
  const backups: BackupRecord[] = [
    { key: 'a', takenAt: day('2026-03-01'), verified: true },
    { key: 'b', takenAt: day('2026-01-10'), verified: true },
    { key: 'c', takenAt: day('2025-12-01'), verified: false },
  ];
  const decision = decideRetention(backups, { keepDays: 7, keepWeekly: 1, keepMonthly: 2, minVerified: 2 }, new Date(day('2026-03-01')));
  expect(decision.reasons.a).toEqual([
    'within 7 days',
    'newest of week 2026-W09',
    'newest of month 2026-03',
    'one of the newest 2 verified',
  ]);
  expect(decision.reasons.b).toEqual(['one of the newest 2 verified']);
  expect(decision.remove).toEqual(['c']);
});
