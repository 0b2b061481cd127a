// The worker's own view of a site, one of the failover assessment's observers: a few GETs to the
// site's front (its health URL, or the front's address with a Host header), one after another,
// each bounded by a timeout. Down only when no probe got a healthy answer; up when any did. It
// never fails for what it saw: an unhealthy site is an answer, not an error.
import { heartbeat } from '@temporalio/activity';
import type { ObserverView } from '../../workflows/failover/assessment';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { getOnce, httpUrlOf } from './get-once';
import { displayUrl } from './health';

export interface ProbeSiteFrontInput {
  site: string;
  url: string;
  /** The Host header, when `url` is an address serving several names. */
  host?: string;
  /** Probes, one after another (default 3, at most 20). */
  requests?: number;
  /** How long one probe may take (default 5 s). */
  timeoutSeconds?: number;
}

export interface SiteProbeView extends ObserverView {
  observer: 'worker probes';
  healthy: number;
  requests: number;
  /** Each answer that was not healthy, by status or why none came. */
  failed: Record<string, number>;
}

export async function probeSiteFront(input: ProbeSiteFrontInput): Promise<SiteProbeView> {
  const url = httpUrlOf(input.url);
  const requests = input.requests ?? 3;
  if (!Number.isInteger(requests) || requests < 1 || requests > 20)
    throw failure(STEP_FAILURE.InvalidHealthCheck, `requests: ${requests} is not a whole number from 1 to 20`);
  const timeoutMs = Math.round((input.timeoutSeconds ?? 5) * 1000);
  let healthy = 0;
  const failed: Record<string, number> = {};
  for (let sent = 1; sent <= requests; sent++) {
    let outcome: string | undefined;
    try {
      const status = (await getOnce(url, { host: input.host, timeoutMs, userAgent: 'opsflow-failover-probe' })).statusCode ?? 0;
      if (status >= 200 && status < 300) healthy++;
      else outcome = `status ${status}`;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      outcome = e.code === 'timeout' ? `no answer within ${timeoutMs} ms` : `no answer (${e.code ?? e.message ?? 'error'})`;
    }
    if (outcome) failed[outcome] = (failed[outcome] ?? 0) + 1;
    heartbeat({ sent, healthy });
  }
  const what = Object.entries(failed)
    .map(([why, n]) => `${n}× ${why}`)
    .join(', ');
  const shown = `${displayUrl(url)}${input.host ? ` (Host ${input.host})` : ''}`;
  return {
    observer: 'worker probes',
    verdict: healthy > 0 ? 'up' : 'down',
    saw: `${healthy} of ${requests} probes to ${shown} healthy${what ? `; ${what}` : ''}`,
    healthy,
    requests,
    failed,
  };
}

export function createSiteProbeActivities() {
  return { probeSiteFront };
}
