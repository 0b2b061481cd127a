// A rollout in words, for the status steps and the Web UI's current details: each step, the split
// now, each analysis's last measurements and verdict, why it waits or aborted. Pure.
import type { CanaryStep } from '../../specs/rollout';
import type { BlueGreenView, KubernetesCanaryView, RolloutView, SurgeDropletView } from './rollout-api';

export function describeStep(step: CanaryStep): string {
  if (step.setWeight !== undefined) return `setWeight ${step.setWeight}`;
  if (step.pause) return step.pause.duration ? `pause ${step.pause.duration}` : 'pause until promoted';
  return `analysis ${step.analysis!.templates.join(', ')}`;
}

/** The tag of an image reference (`ghcr.io/acme/app:2.1.0-err5@sha256:...` gives `2.1.0-err5`): the version label metrics carry. */
export function imageTag(image: string): string {
  const name = image.split('@')[0]!;
  return name.slice(name.lastIndexOf(':') + 1);
}

const show = (values: number[]) => (values.length === 1 ? String(Number(values[0]!.toPrecision(4))) : `[${values.join(', ')}]`);

/** Which fleet serves, the preview's address for test traffic, and the switch's times. */
export function describeBlueGreen(bg: BlueGreenView): string {
  return (
    `serving the ${bg.serving === 'active' ? `active fleet ${bg.activeHosts.join(', ')}` : `preview ${bg.previewHosts.join(', ')}`}` +
    ` · preview ${bg.previewHosts.join(', ')} (test traffic: ${bg.previewServers.join(', ')})` +
    (bg.switchedAt ? ` · switched ${bg.switchedAt}` : '') +
    (bg.switchedBackAt ? ` · switched back ${bg.switchedBackAt}` : '') +
    (bg.keptWarmUntil && !bg.scaledDown && !bg.switchedBackAt && !bg.returnedToFleetAt
      ? ` · ${bg.activeHosts.join(', ')} kept warm until ${bg.keptWarmUntil}`
      : '') +
    (bg.scaledDown ? ` · ${bg.activeHosts.join(', ')} out of rotation (kept on the old version: the next preview)` : '') +
    (bg.returnedToFleetAt ? ` · ${bg.activeHosts.join(', ')} on the new version, serving again since ${bg.returnedToFleetAt}` : '') +
    (bg.previewDroplets?.length ? ` · preview droplets: ${describeSurge(bg.previewDroplets)}` : '')
  );
}

/** `stack-b-platform-surge-1 (203.0.113.7) serving`: each surge droplet and what is being done with it. */
export function describeSurge(droplets: SurgeDropletView[]): string {
  return droplets
    .map((d) => `${d.name}${d.address ? ` (${d.address})` : ''} ${d.state}${d.state === 'draining' && d.until ? ` until ${d.until}` : ''}`)
    .join(', ');
}

export function describeView(view: RolloutView): string {
  const lines = [
    `phase **${view.phase}** · canary ${view.weight.effective.canary}% / stable ${view.weight.effective.stable}%` +
      ` · canary hosts: ${view.canaryHosts.join(', ') || 'none'}` +
      (view.step ? ` · step ${view.step.index + 1}/${view.stepCount}: ${view.step.detail}` : ''),
  ];
  if (view.weight.note) lines.push(view.weight.note);
  const bg = view.blueGreen;
  if (bg) lines.push(describeBlueGreen(bg));
  if (view.surge?.length) lines.push(`surge: ${describeSurge(view.surge)}`);
  if (view.kubernetes) lines.push(describeKubernetes(view.kubernetes));
  if (view.pause) lines.push(`waiting (${view.pause.waitingFor}${view.pause.escalated ? ', escalated' : ''}): ${view.pause.reason}`);
  if (view.pause?.notified) lines.push(`escalation: ${view.pause.notified}`);
  if (view.abort) lines.push(`abort: ${view.abort.reason}${view.abort.by ? ` (by ${view.abort.by})` : ''}`);
  for (const analysis of view.analyses.slice(-3)) {
    const metrics = analysis.metrics.map((m) => {
      const last = m.measurements[m.measurements.length - 1];
      return `${m.name} ${m.phase}${last ? ` (last ${last.values.length ? show(last.values) : 'no data'}, ${m.measurements.length} taken)` : ''}`;
    });
    lines.push(`${analysis.name} analysis ${analysis.phase}: ${metrics.join('; ')}`);
  }
  const last = view.updates[view.updates.length - 1];
  if (last) lines.push(`last update: ${last.name} by ${last.by}: ${last.detail}`);
  return lines.join('\n\n');
}

/** `canary Deployment shop/web-canary 1/1 ready (serving) · stable Deployment shop/web (serving) · HTTPRoute shop/web on cluster shop-d`. */
export function describeKubernetes(k: KubernetesCanaryView): string {
  const ns = k.namespace;
  const canary = k.canaryDeployment
    ? `${k.track ?? 'canary'} Deployment ${ns}/${k.canaryDeployment} ${k.canaryReadyReplicas ?? 0}/${k.canaryReplicas ?? '?'} ready (${k.canary}${k.canary === 'serving' && k.canaryRemovedAfter ? `, removed after ${k.canaryRemovedAfter}` : ''})`
    : `${k.track ?? 'canary'} ${k.canary}`;
  const stable = `stable Deployment ${ns}/${k.stableDeployment ?? '?'} (${k.stable}${k.stableReadyReplicas !== undefined ? `, ${k.stableReadyReplicas}/${k.stableReplicas ?? '?'} ready on the new images` : ''})`;
  const split = k.canaryIngress ? `Ingress ${ns}/${k.route} + canary Ingress ${ns}/${k.canaryIngress}` : `HTTPRoute ${ns}/${k.route}`;
  return `${canary} · ${stable} · ${split} (${k.stableService} / ${k.canaryService}) on cluster ${k.cluster}`;
}
