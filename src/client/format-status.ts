// Renders a workflow's status for people: where it is, what it made, what is left.
import type { WorkflowStatusReport } from './opsflow-client';

export function formatStatus(report: WorkflowStatusReport): string {
  const lines = [
    `${report.workflowId}  ${report.type}  ${report.execution}`,
    `  started ${report.startTime.toISOString()}${report.closeTime ? `, closed ${report.closeTime.toISOString()}` : ''}`,
  ];
  const status = report.status;
  if (!status) {
    lines.push(`  (no step details: ${report.statusError ?? 'unknown'})`);
    return lines.join('\n');
  }
  lines.push(`  step: ${status.step}`);
  if (status.completedSteps.length) lines.push(`  done: ${status.completedSteps.join(' → ')}`);
  if (status.remainingSteps.length) lines.push(`  left: ${status.remainingSteps.join(' → ')}`);
  if (status.resources.length) {
    lines.push('  resources:');
    for (const r of status.resources) lines.push(`    ${r.kind.padEnd(12)} ${r.id}${r.name ? `  ${r.name}` : ''}`);
  } else {
    lines.push('  resources: none');
  }
  return lines.join('\n');
}
