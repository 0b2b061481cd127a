// Each independent observer's view of a site, at once, and the majority's verdict: failoverSite's
// assessment before it changes anything, and drMonitor's probe on every interval, so both judge a
// site alike. An observer that fails after its few attempts (or has nothing to look at) cannot
// tell: a broken vantage point is never waited on, and never counts as "down".
import type { RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { FailoverSite } from '../../specs/failover';
import { describeError } from '../shared/saga';
import { summarizedActivities } from '../shared/summarized-activities';
import { assessSite, cannotTell, type ObserverName, type ObserverView, type SiteAssessment } from './assessment';

const observerRetry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 3 };

/** What the observers need: `from` is the site looked at, `to` the one whose replica watches it. */
export type ObservedSite = Pick<FailoverSite, 'from' | 'to' | 'mode' | 'assess' | 'databases' | 'cloudflare' | 'loadBalancer'>;

export async function observeSite(spec: ObservedSite): Promise<SiteAssessment> {
  const { from, to } = spec;
  const probe = spec.assess.probe;
  const seconds = Math.ceil(Math.max(60, probe ? probe.requests * probe.timeoutSeconds + 30 : 0, spec.assess.replicaContactSeconds + 45));
  const observe = summarizedActivities<Activities>({ startToCloseTimeout: `${seconds} seconds`, retry: observerRetry });
  const looked = (observer: ObserverName, look: () => Promise<ObserverView>): Promise<ObserverView> =>
    look().then(
      (seen) => ({ observer, verdict: seen.verdict, saw: seen.saw }),
      (err: unknown) => cannotTell(observer, `could not look: ${describeError(err)}`),
    );
  const observers = await Promise.all([
    probe
      ? looked('worker probes', () =>
          observe.probeSiteFront({
            site: from,
            url: probe.url,
            ...(probe.host ? { host: probe.host } : {}),
            requests: probe.requests,
            timeoutSeconds: probe.timeoutSeconds,
          }),
        )
      : Promise.resolve(cannotTell('worker probes', `no front to probe: assess.probe names no URL for ${from}`)),
    looked('survivor replica', () =>
      observe.observeReplicaView({
        server: spec.databases[to]!,
        primary: spec.databases[from]!,
        contactSeconds: spec.assess.replicaContactSeconds,
      }),
    ),
    looked('cloudflare pool health', () =>
      observe.observePoolHealth({ cloudflare: spec.cloudflare, loadBalancer: spec.loadBalancer, site: from }),
    ),
  ]);
  return assessSite(spec.mode, from, observers);
}
