// The steps a runbook does on the hosts themselves, over SSH: wait until a server answers (and
// pin its host key), mount a volume, bootstrap, deploy the compose application, and the health
// gate. Commands are argv lists or the fixed scripts in host-scripts.ts with values as arguments:
// nothing from a spec is ever pasted into a shell line.
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { EnvironmentSpec } from '../../specs/environment';
import { imageVariable } from '../../names/image-variable';
import { ENV_FILE, MOUNT_VOLUME, MAKE_DIRECTORIES, COMPOSE_UP } from './host-scripts';
import { summarizedActivities } from '../shared/summarized-activities';

/** Where and how to reach one droplet; `fingerprints` holds its pinned host key. */
export interface HostTarget {
  instance: string;
  host: string;
  port: number;
  user: string;
  key: string;
  fingerprints: string[];
}

export const SSH_STEP: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  // Commands heartbeat every 2 s; a worker that died mid-command is noticed within 30 s.
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
  // On cancellation the rollback waits until the command has stopped on the host (the activity
  // kills it when its heartbeat hears of the cancel), so nothing runs on a droplet being deleted.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};
const ssh = summarizedActivities<Activities>(SSH_STEP);

export async function waitForSsh(spec: EnvironmentSpec, instance: string, host: string): Promise<HostTarget> {
  const expected = spec.ssh.hostKeys[instance];
  const { fingerprint } = await ssh.waitForSsh({
    host,
    port: spec.ssh.port,
    user: spec.ssh.user,
    key: spec.ssh.key,
    expectedFingerprints: expected ? [expected] : undefined,
    // The spec's ssh.waitSeconds (default 5 minutes): how long a new droplet gets to answer.
    timeoutMs: spec.ssh.waitSeconds * 1000,
  });
  // Pinned on first contact (or the spec's): every later connection must show this key.
  return { instance, host, port: spec.ssh.port, user: spec.ssh.user, key: spec.ssh.key, fingerprints: [fingerprint] };
}

/** Formats (if new) and mounts the volume at `device`, the path its provider gave (Volume.devicePath). */
export async function mountVolume(
  target: HostTarget,
  volumeName: string,
  device: string,
  filesystem: string,
  mountPoint: string,
): Promise<string> {
  await ssh.runRemoteCommand({ ...target, script: MOUNT_VOLUME, args: [device, filesystem, mountPoint], label: `mount ${volumeName}` });
  // Checked in a new session, as a reboot or the next deploy will see it.
  await ssh.runRemoteCommand({ ...target, argv: ['mountpoint', '-q', mountPoint] });
  return device;
}

export async function bootstrap(target: HostTarget, steps: EnvironmentSpec['bootstrap']): Promise<void> {
  if (steps.packages.length > 0) {
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    await ssh.runRemoteCommand({ ...target, argv: ['apt-get', 'update'], env });
    await ssh.runRemoteCommand({ ...target, argv: ['apt-get', 'install', '-y', '--no-install-recommends', ...steps.packages], env });
  }
  if (steps.directories.length > 0) {
    const args = steps.directories.flatMap((d) => [d.mode, d.path]);
    await ssh.runRemoteCommand({ ...target, script: MAKE_DIRECTORIES, args, label: 'make directories' });
  }
  const files = [
    ...steps.files.map((f) => ({ path: f.path, content: f.content, mode: parseInt(f.mode, 8) })),
    ...steps.systemdUnits.map((u) => ({ path: `/etc/systemd/system/${u.name}`, content: u.content, mode: 0o644 })),
  ];
  if (files.length > 0) await ssh.uploadFiles({ ...target, files });
  if (steps.systemdUnits.length > 0) {
    await ssh.runRemoteCommand({ ...target, argv: ['systemctl', 'daemon-reload'] });
    const enabled = steps.systemdUnits.filter((u) => u.enable).map((u) => u.name);
    if (enabled.length > 0) await ssh.runRemoteCommand({ ...target, argv: ['systemctl', 'enable', ...enabled] });
  }
  for (const argv of steps.commands) await ssh.runRemoteCommand({ ...target, argv });
}

export type Application = NonNullable<EnvironmentSpec['application']>;

/**
 * Writes compose.yaml and its .env (the environment, each service's `<SERVICE>_IMAGE`, and the
 * secrets, resolved on the worker), then pulls and starts the services.
 */
export async function deployApplication(target: HostTarget, app: Application): Promise<void> {
  await ssh.uploadFiles({ ...target, files: [{ path: `${app.directory}/compose.yaml`, content: app.compose ?? '', mode: 0o644 }] });
  const images = Object.fromEntries(Object.entries(app.images).map(([service, image]) => [imageVariable(service), image]));
  await ssh.writeEnvFile({
    ...target,
    path: `${app.directory}/${ENV_FILE}`,
    values: { ...app.environment, ...images },
    secrets: app.secrets,
  });
  await ssh.runRemoteCommand({
    ...target,
    script: COMPOSE_UP,
    args: [app.directory],
    label: 'docker compose pull and up',
    timeoutMs: 20 * 60_000,
  });
}

export type HealthCheck = EnvironmentSpec['healthChecks'][number];

export function healthUrl(host: string, check: HealthCheck, path = check.path): string {
  return `http://${host}:${check.port}${path}`;
}

/**
 * Every check must pass, at its path and each of its `paths`; each probe gets `attempts`
 * consecutive failures before the gate fails. Body and header expectations go to the probe only
 * when the check has them, so runs recorded before they existed schedule the same activities.
 */
export async function healthGate(host: string, checks: HealthCheck[]): Promise<string[]> {
  const probes = checks.flatMap((check) => [check.path, ...(check.paths ?? [])].map((path) => ({ check, path })));
  return Promise.all(
    probes.map(async ({ check, path }) => {
      const url = healthUrl(host, check, path);
      const intervalMs = check.intervalSeconds * 1000;
      const activities = summarizedActivities<Activities>({
        startToCloseTimeout: `${check.attempts * (check.intervalSeconds + 5) + 60} seconds`,
        heartbeatTimeout: `${check.intervalSeconds + 30} seconds`,
        // An unhealthy service fails for good (HealthCheckFailed); a lost worker is retried.
        retry: { maximumAttempts: 3 },
      });
      await activities.waitHealthy({
        url,
        expectStatus: check.expectStatus,
        intervalMs,
        attempts: check.attempts,
        ...(check.expectBodyContains !== undefined ? { expectBodyContains: check.expectBodyContains } : {}),
        ...(check.expectBodyMatches !== undefined ? { expectBodyMatches: check.expectBodyMatches } : {}),
        ...(check.expectHeaders !== undefined ? { expectHeaders: check.expectHeaders } : {}),
      });
      return url;
    }),
  );
}
