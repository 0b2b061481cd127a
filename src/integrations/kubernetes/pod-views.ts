// Pods and events as an operator reads them in a failure or a status: names, phase, readiness and
// the reasons Kubernetes gives (Unschedulable, ImagePullBackOff, FailedScheduling...). Pure: the
// activities return these, small and free of anything but what the API server reported.

export interface PodView {
  name: string;
  phase: string;
  ready: boolean;
  node?: string;
  restarts: number;
  /** Why it is not running and ready, as Kubernetes says it: "PodScheduled Unschedulable: 0/3 nodes ...". */
  reasons: string[];
}

export interface EventView {
  type: string;
  reason: string;
  message: string;
  /** "Pod web-7d9c-abcde". */
  object: string;
  count: number;
  /** ISO time of the last occurrence, when the event has one. */
  last?: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw API objects, read field by field
type Raw = Record<string, any>;

export function podView(pod: Raw): PodView {
  const status: Raw = pod.status ?? {};
  const conditions: Raw[] = status.conditions ?? [];
  const containers: Raw[] = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
  const reasons: string[] = [];
  for (const c of conditions)
    if (c.status !== 'True' && c.reason) reasons.push(`${c.type} ${c.reason}${c.message ? `: ${c.message}` : ''}`);
  for (const c of containers) {
    const waiting = c.state?.waiting;
    const terminated = c.state?.terminated ?? c.lastState?.terminated;
    if (waiting?.reason) reasons.push(`container ${c.name} ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`);
    if (terminated?.reason && terminated.exitCode !== 0)
      reasons.push(
        `container ${c.name} ${terminated.reason} (exit ${terminated.exitCode})${terminated.message ? `: ${terminated.message}` : ''}`,
      );
  }
  if (status.reason) reasons.push(`${status.reason}${status.message ? `: ${status.message}` : ''}`);
  return {
    name: pod.metadata?.name ?? '?',
    phase: status.phase ?? 'Unknown',
    ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName as string } : {}),
    restarts: containers.reduce((sum, c) => sum + (c.restartCount ?? 0), 0),
    reasons,
  };
}

export function eventView(event: Raw): EventView {
  const last = event.lastTimestamp ?? event.eventTime ?? event.series?.lastObservedTime ?? event.firstTimestamp;
  return {
    type: event.type ?? 'Normal',
    reason: event.reason ?? '',
    message: (event.message ?? event.note ?? '').trim(),
    object: `${event.involvedObject?.kind ?? event.regarding?.kind ?? '?'} ${event.involvedObject?.name ?? event.regarding?.name ?? '?'}`,
    count: event.series?.count ?? event.count ?? 1,
    ...(last ? { last: String(last) } : {}),
  };
}

/** Newest first; warnings before normal events of the same time. */
export function newestFirst(events: EventView[]): EventView[] {
  return [...events].sort(
    (a, b) => (b.last ?? '').localeCompare(a.last ?? '') || (a.type === 'Warning' ? -1 : 0) - (b.type === 'Warning' ? -1 : 0),
  );
}

/** One line per pod that is not ready, and per warning event: what a stalled rollout's failure says. */
export function explainStall(pods: PodView[], events: EventView[], max = 5): string {
  const notReady = pods.filter((p) => !p.ready);
  const podLines = notReady
    .slice(0, max)
    .map((p) => `${p.name} ${p.phase}${p.node ? ` on ${p.node}` : ''}${p.reasons.length ? ` (${p.reasons.join('; ')})` : ''}`);
  const warnings = events.filter((e) => e.type === 'Warning').slice(0, max);
  const eventLines = warnings.map((e) => `${e.reason} on ${e.object}${e.count > 1 ? ` (x${e.count})` : ''}: ${e.message}`);
  const parts = [
    notReady.length
      ? `pods not ready: ${podLines.join('; ')}${notReady.length > max ? ` and ${notReady.length - max} more` : ''}`
      : 'every pod ready',
    warnings.length ? `warning events: ${eventLines.join('; ')}` : 'no warning events',
  ];
  return parts.join('. ');
}
