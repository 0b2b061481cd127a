// Time-zone names for schedules, checked when the policy is read: a typo used to pass
// `schedules apply --dry-run` and fail only when Temporal was asked to create the schedule.
import { closestMatch } from './messages';

/**
 * Why `name` is not a time zone Temporal's scheduler can load, or undefined when it is. Intl
 * knows the IANA names (and their aliases, such as US/Eastern); it also accepts any letter case,
 * which the server's tz database lookup does not, so a name spelt in other case is refused too.
 */
export function timeZoneProblem(name: string): string | undefined {
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    const near = closestMatch(name, [...Intl.supportedValuesOf('timeZone'), 'UTC']);
    return `"${name}" is not a time zone${near ? `; did you mean "${near}"?` : ''} (an IANA name such as UTC, Europe/Berlin or America/New_York)`;
  }
  if (resolved !== name && resolved.toLowerCase() === name.toLowerCase())
    return `"${name}" must be spelt as the time-zone database spells it: "${resolved}"`;
  return undefined;
}
