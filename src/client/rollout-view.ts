// A rollout for the terminal: `opsflow rollout status` (the split now, the step, each analysis
// with its measurements, why it waits or aborted, who steered it) and the live progress lines of
// `opsflow rollout <env>` (each weight change, measurement, pause and update printed once).
import type { RolloutStatus, RolloutView } from '../workflows/release/rollout-api';
import { describeBlueGreen, describeKubernetes, describeSurge } from '../workflows/release/rollout-words';
import type { OperationStatus } from '../workflows/shared/status';
import type { ProgressLine } from './progress';

const value = (values: number[]) => (values.length === 0 ? 'no data' : values.map((v) => String(Number(v.toPrecision(4)))).join(', '));
/** The split in the strategy's words: a blue-green rollout's canary side is its preview fleet, its stable side the active one. */
const split = (view: RolloutView) =>
  view.blueGreen
    ? `preview ${view.weight.effective.canary}% / active ${view.weight.effective.stable}%`
    : `canary ${view.weight.effective.canary}% / stable ${view.weight.effective.stable}%`;

/** What to type next while a rollout waits for a human. */
function hint(view: RolloutView, environment: string): string {
  if (view.pause?.waitingFor !== 'human') return '';
  return ` (opsflow rollout promote ${environment}, or abort ${environment})`;
}

export function formatRolloutView(view: RolloutView, environment: string): string {
  const lines = [
    `  rollout: ${view.strategy}, ${view.phase}, requested by ${view.requestedBy}`,
    `  traffic: ${split(view)}${view.weight.note ? ` (${view.weight.note})` : ''}`,
    view.kubernetes
      ? `  kubernetes: ${describeKubernetes(view.kubernetes)}`
      : `  hosts: canary ${view.canaryHosts.join(', ') || 'none'}; stable ${view.stableHosts.join(', ') || 'none'}`,
    `  images: ${Object.entries(view.canaryImages)
      .map(([s, image]) => `${s} ${view.stableImages[s] ?? '?'} -> ${image}`)
      .join(', ')}`,
  ];
  if (view.blueGreen) lines.push(`  blue-green: ${describeBlueGreen(view.blueGreen)}`);
  if (view.surge?.length) lines.push(`  surge: ${describeSurge(view.surge)}`);
  if (view.step) lines.push(`  step ${view.step.index + 1}/${view.stepCount}: ${view.step.detail}`);
  if (view.pause)
    lines.push(`  waiting for ${view.pause.waitingFor} since ${view.pause.since}: ${view.pause.reason}${hint(view, environment)}`);
  if (view.abort) lines.push(`  abort: ${view.abort.reason}${view.abort.by ? ` (by ${view.abort.by})` : ''}`);
  for (const analysis of view.analyses) {
    lines.push(`  analysis ${analysis.name} (${analysis.templates.join(', ')}): ${analysis.phase}, ${analysis.reason}`);
    for (const metric of analysis.metrics) {
      lines.push(`    ${metric.name}: ${metric.phase}`);
      for (const m of metric.measurements) lines.push(`      ${m.at}  ${m.phase.padEnd(12)} ${value(m.values)}  ${m.message}`);
    }
  }
  for (const u of view.updates) lines.push(`  ${u.at}  ${u.name} by ${u.by}: ${u.detail}`);
  return lines.join('\n');
}

/** The rollout's own progress lines; each weight change is its own line, even back to an earlier split. */
export function rolloutProgressLines(environment: string): (status: OperationStatus) => ProgressLine[] {
  const splits: string[] = [];
  return (status) => {
    const view = (status as RolloutStatus).rollout;
    if (!view) return [];
    const now = split(view);
    if (splits[splits.length - 1] !== now) splits.push(now);
    const lines: ProgressLine[] = splits.map((s, i) => ({ key: `split ${i}`, text: `    ⇄ traffic ${s}\n` }));
    // Each surge or preview droplet's state once, as it changes (created, serving, draining, destroyed).
    const made = [
      ...(view.surge ?? []).map((d) => ({ d, role: 'surge' })),
      ...(view.blueGreen?.previewDroplets ?? []).map((d) => ({ d, role: 'preview' })),
    ];
    for (const { d, role } of made)
      if (d.state !== 'planned')
        lines.push({
          key: `${role} ${d.name} ${d.state}`,
          text: `    ⊕ ${role} droplet ${d.name}${d.address ? ` (${d.address})` : ''}: ${d.state}\n`,
        });
    for (const analysis of view.analyses)
      for (const metric of analysis.metrics)
        metric.measurements.forEach((m, i) =>
          lines.push({
            key: `measurement ${analysis.name} ${metric.name} ${i}`,
            text: `    · ${analysis.name} ${metric.name} #${i + 1} ${m.phase}: ${value(m.values)} (${m.message})\n`,
          }),
        );
    // A canary on Kubernetes: each side's state once, as it changes (deploying, serving, removing; updating, updated).
    const k = view.kubernetes;
    if (k) {
      if (k.canary !== 'planned')
        lines.push({
          key: `kubernetes canary ${k.canary}`,
          text: `    ⊕ canary Deployment ${k.namespace}/${k.canaryDeployment ?? '?'}${k.canaryReplicas !== undefined ? ` (${k.canaryReplicas} replicas)` : ''}: ${k.canary}\n`,
        });
      if (k.stable !== 'serving')
        lines.push({
          key: `kubernetes stable ${k.stable}`,
          text: `    ⊕ stable Deployment ${k.namespace}/${k.stableDeployment ?? '?'}: ${k.stable} to the new images\n`,
        });
    }
    if (view.pause)
      lines.push({
        key: `pause ${view.pause.since}`,
        text: `    ‖ waiting for ${view.pause.waitingFor}: ${view.pause.reason}${hint(view, environment)}\n`,
      });
    view.updates.forEach((u, i) => lines.push({ key: `update ${i}`, text: `    ↪ ${u.name} by ${u.by}: ${u.detail}\n` }));
    if (view.abort) lines.push({ key: 'abort', text: `    ✖ aborting: ${view.abort.reason}\n` });
    return lines;
  };
}
