// Renders a workflow's status for people: where it is, what it made, what is left.
import type { WorkflowStatusReport } from './opsflow-client';
import type { ProvisionResult } from '../workflows/environment/provision-environment';
import { canonicalFailureType } from '../workflows/shared/failures';
import type { ResourceRecord } from '../workflows/shared/status';

/**
 * A failure's type under today's names: runs recorded by older versions carry older names
 * (deployRelease's ReleaseRolledBack is now RolledBack), shown alongside.
 */
export function failureName(type: string): string {
  const today = canonicalFailureType(type);
  return today === type ? type : `${today}, recorded as ${type}`;
}

/** How a workflow failed, in one line. */
export function formatFailure(type: string | undefined, message: string): string {
  return type ? `${failureName(type)}: ${message}` : message;
}

export function formatStatus(report: WorkflowStatusReport): string {
  const lines = [
    `${report.workflowId}  ${report.type}  ${report.execution}`,
    `  started ${report.startTime.toISOString()}${report.closeTime ? `, closed ${report.closeTime.toISOString()}` : ''}`,
  ];
  const status = report.status;
  if (!status) {
    if (report.failure) lines.push(`  failed: ${formatFailure(report.failure.type, report.failure.message)}`);
    lines.push(`  (no step details: ${report.statusError ?? 'unknown'})`);
    return lines.join('\n');
  }
  const outcome = status.outcome;
  if (outcome) {
    lines.push(`  state: ${outcome.state}`);
    if (outcome.reason) lines.push(`  reason: ${outcome.reason}`);
  } else {
    lines.push(`  step: ${status.step}`);
  }
  // The reason already says how it failed; the failure is shown only when the run did not record one.
  if (report.failure && !outcome?.reason) lines.push(`  failed: ${formatFailure(report.failure.type, report.failure.message)}`);
  if (status.completedSteps.length) lines.push(`  done: ${status.completedSteps.join(' → ')}`);
  for (const failed of status.failedSteps ?? []) lines.push(`  failed step: ${failed}`);
  if (status.remainingSteps.length && !outcome) lines.push(`  left: ${status.remainingSteps.join(' → ')}`);
  if (outcome?.undone.length) lines.push(`  undone: ${outcome.undone.join(', ')}`);
  for (const f of outcome?.notUndone ?? []) lines.push(`  not undone: ${f.name} (${f.error})`);
  if (outcome?.kept.length) lines.push(`  kept: ${outcome.kept.join(', ')}`);
  const existing = status.resources.filter((r) => !r.undone);
  const undone = status.resources.filter((r) => r.undone);
  const width = Math.max(0, ...status.resources.map((r) => r.kind.length)) + 1;
  const resourceLine = (r: ResourceRecord) => `    ${r.kind.padEnd(width)} ${r.id}${r.name ? `  ${r.name}` : ''}`;
  if (existing.length) {
    lines.push(outcome && outcome.state !== 'completed' ? '  resources still existing:' : '  resources:');
    for (const r of existing) lines.push(resourceLine(r));
  } else {
    lines.push('  resources: none');
  }
  if (undone.length) {
    lines.push('  resources deleted by the rollback:');
    for (const r of undone) lines.push(resourceLine(r));
  }
  return lines.join('\n');
}

export function formatProvisionResult(result: ProvisionResult): string {
  const lines = [`Environment ${result.environment} is provisioned.`];
  if (result.vpcId) lines.push(`  VPC         ${result.vpcId}`);
  if (result.firewallId) lines.push(`  firewall    ${result.firewallId}`);
  for (const d of result.droplets) {
    const host = result.hosts?.find((h) => h.dropletId === d.id);
    lines.push(
      `  droplet     ${d.name} (${d.id})  public ${d.publicIp}  private ${d.privateIp}${host ? `  host key ${host.hostKey}` : ''}`,
    );
  }
  for (const v of result.volumes)
    lines.push(`  volume      ${v.name} (${v.id}) on ${v.droplet}${v.device ? `, mounted at ${v.mountPoint}` : ''}`);
  if (result.reservedIp) lines.push(`  reserved IP ${result.reservedIp}`);
  if (result.ssh && result.hosts?.length)
    lines.push(`  ssh         ${result.ssh.user}@${result.hosts[0]!.address} -p ${result.ssh.port} (key ${result.ssh.key})`);
  if (result.application) {
    lines.push(`  application ${result.application.directory}`);
    // Sized to the longest service name, so a long one never runs into its image.
    const width = Math.max(0, ...Object.keys(result.application.images).map((s) => s.length)) + 2;
    for (const [service, image] of Object.entries(result.application.images)) lines.push(`    ${service.padEnd(width)}${image}`);
  }
  for (const url of result.urls ?? []) lines.push(`  healthy     ${url}`);
  return lines.join('\n');
}
