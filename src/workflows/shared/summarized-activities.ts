// Activities whose every call carries a summary for the Web UI (shared/activity-summaries.ts): a
// drop-in for proxyActivities. The summary is command metadata only: adding it changes no command,
// so histories recorded without summaries replay unchanged.
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- the one place activity proxies are made
import { proxyActivities, type ActivityInterfaceFor, type ActivityOptions, type UntypedActivities } from '@temporalio/workflow';
import { activitySummary } from './activity-summaries';

type Callable = ((...args: unknown[]) => Promise<unknown>) & {
  executeWithOptions?: (options: ActivityOptions, args: unknown[]) => Promise<unknown>;
};

/** Wraps an activity proxy: each call is scheduled with its summary, unless the caller gave one (executeWithOptions). */
export function withSummaries<A extends object>(activities: A): A {
  return new Proxy(activities, {
    get(target, name, receiver) {
      const fn = Reflect.get(target, name, receiver) as Callable | undefined;
      if (typeof name !== 'string' || typeof fn?.executeWithOptions !== 'function') return fn;
      const execute = fn.executeWithOptions.bind(fn);
      const summarized = (...args: unknown[]) => execute({ summary: activitySummary(name, args[0]) }, args);
      summarized.executeWithOptions = (options: ActivityOptions, args: unknown[]) =>
        execute({ summary: activitySummary(name, args[0]), ...options }, args);
      return summarized;
    },
  });
}

/** proxyActivities, every call summarized. */
export function summarizedActivities<A = UntypedActivities>(options: ActivityOptions): ActivityInterfaceFor<A> {
  return withSummaries(proxyActivities<A>(options));
}
