// Renders a workflow's status for people: where it is, what it made, what is left.
import type { WorkflowStatusReport } from './opsflow-client';
import type { ProvisionResult } from '../workflows/environment/provision-environment';
import { canonicalFailureType } from '../workflows/shared/failures';

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
  lines.push(`  step: ${status.step}`);
  if (report.failure) lines.push(`  failed: ${formatFailure(report.failure.type, report.failure.message)}`);
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
    for (const [service, image] of Object.entries(result.application.images)) lines.push(`    ${service.padEnd(12)}${image}`);
  }
  for (const url of result.urls ?? []) lines.push(`  healthy     ${url}`);
  return lines.join('\n');
}
