// Which provisioning step a running activity attempt belongs to, read from its activity type and
// input, for tests that aim at steps while the worker is stopped (and cannot answer a query).
import type { ActivityAttempt } from './run-activities';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// The steps of provisionEnvironment, as its status query names them (checked against a finished run).
export const PROVISION_STEPS = [
  'validate spec',
  'register SSH key',
  'create VPC',
  'create firewall',
  'create droplets',
  'wait for droplets',
  'create volumes',
  'assign reserved IP',
  'wait for SSH',
  'mount volumes',
  'bootstrap',
  'deploy application',
  'health gate',
];

/** The provisioning step a running attempt belongs to, from its activity and input. */
export function provisionStepOf(attempt: ActivityAttempt): string {
  const input = attempt.input;
  switch (attempt.type) {
    case 'checkSecretReferences':
      return 'validate spec';
    case 'ensureSshKey':
      return 'register SSH key';
    // Neutral names since the provider seam; the old ones for runs recorded before it.
    case 'ensureNetwork':
    case 'ensureVpc':
      return 'create VPC';
    case 'ensureFirewall':
      return 'create firewall';
    case 'ensureServers':
    case 'ensureDroplets':
      return 'create droplets';
    case 'waitForServers':
    case 'waitForDropletsActive':
      return 'wait for droplets';
    case 'ensureVolume':
    case 'attachVolume':
      return 'create volumes';
    case 'ensureFloatingIp':
    case 'ensureReservedIp':
      return 'assign reserved IP';
    case 'waitForSsh':
      return 'wait for SSH';
    case 'waitHealthy':
      return 'health gate';
    case 'writeEnvFile':
      return 'deploy application';
    case 'uploadFiles':
      if (!input.files) break;
      return input.files.some((f: Body) => String(f.path).endsWith('/compose.yaml')) ? 'deploy application' : 'bootstrap';
    case 'runRemoteCommand':
      if (!input.label && !input.argv) break;
      if (String(input.label ?? '').startsWith('mount ') || input.argv?.[0] === 'mountpoint') return 'mount volumes';
      return input.label === 'docker compose pull and up' ? 'deploy application' : 'bootstrap';
  }
  return `unknown (${attempt.type})`;
}
