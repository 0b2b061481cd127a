// deployRelease: the runbook for a new release of a provisioned environment's compose application.
// Note what runs now, write the new images into .env, pull and restart, and hold the release to the
// health gate. If anything fails, or the run is cancelled, put the previous images back, restart,
// and check that they are healthy again, through the saga helper every workflow uses: the workflow
// then fails with RolledBack saying which version runs, or with RollbackIncomplete when even the old
// version did not come back. (Runs before the patch below ended ReleaseRolledBack / RollbackFailed.)
// With an analysis in its input, the release must also pass it after the health gate (its metrics
// from Prometheus), or it is rolled back the same way (see release-analysis.ts).
import { ApplicationFailure, isCancellation, patched, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { IMAGE_REF, imageTag, parseDeployReleaseInput, type DeployRelease, type DeployReleaseInput } from '../../specs/deploy-release';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { imageVariable } from '../../names/image-variable';
import { COMPOSE_UP, RUNNING_IMAGES, SET_ENV_VALUES } from '../environment/host-scripts';
import { healthGate, SSH_STEP, type HealthCheck, type HostTarget } from '../environment/host-steps';
import { failure, LEGACY_FAILURE_TYPES, OUTCOME, STEP_FAILURE } from '../shared/failures';
import { describeError, runSaga } from '../shared/saga';
import { withEnvironmentClaim } from '../shared/environment-claim';
import { StatusTracker } from '../shared/status';
import { summarizedActivities } from '../shared/summarized-activities';
import { validated } from '../shared/validated';
import { verifyRelease } from './release-analysis';

const ssh = summarizedActivities<Activities>(SSH_STEP);

/** Images by compose service. */
export type Images = Record<string, string>;

export interface HostRelease {
  instance: string;
  address: string;
  /** What ran before the release, for the services it changed. */
  previous: Images;
  /** Every service running on the host after the release, with its image. */
  running: Images;
}

export interface DeployResult {
  environment: string;
  /** The images deployed. */
  images: Images;
  hosts: HostRelease[];
  /** Health URLs that passed the gate. */
  urls: string[];
}

/**
 * From this patch on, a release that fails ends with the saga's failure types (RolledBack,
 * RollbackIncomplete); runs recorded before it keep their old names when replayed.
 */
export const SAGA_FAILURE_TYPES_PATCH = 'deploy-release-saga-failure-types';

/** A release whose input names an analysis runs it after the health gate; runs recorded before it have none. */
export const ANALYSIS_PATCH = 'deploy-release-analysis';

const STEPS = ['validate input', 'record running images', 'write new images', 'pull and start', 'health gate'];

export async function deployRelease(input: DeployReleaseInput): Promise<DeployResult> {
  // Bad input is refused before the claim; the release runs while this run holds the environment.
  const { environment } = validated('input', parseDeployReleaseInput, input);
  return withEnvironmentClaim(environment, 'deploy', () => releaseImages(input), {
    change: (result) => ({ kind: 'deployed', images: result.images }),
  });
}

async function releaseImages(input: DeployReleaseInput): Promise<DeployResult> {
  const status = new StatusTracker('deployRelease', input.analysis ? [...STEPS, 'analysis'] : STEPS);
  status.step('validate input');
  const release = validated('input', parseDeployReleaseInput, input);
  upsertSearchAttributes([
    { key: OpsEnvironment, value: release.environment },
    { key: OpsOperation, value: 'deploy' },
  ]);
  const targets = hostTargets(release);
  const checks = release.healthChecks.map((check) => ({ ...check, attempts: release.consecutiveFailures ?? check.attempts }));

  status.step('record running images');
  // Read only: a failure up to here has changed nothing.
  let previous: Images[];
  try {
    previous = await Promise.all(
      targets.map(async (target) => previousImages(target, await runningImages(target, release.directory), Object.keys(release.images))),
    );
  } catch (err) {
    status.finish(isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }
  targets.forEach((target, i) =>
    status.recordResource({ kind: 'rollback target', id: `${target.instance}: ${describeImages(previous[i]!)}` }),
  );

  const restored: Record<string, Images> = {};
  const attempted = describeImages(release.images);
  try {
    return await runSaga(
      async (saga) => {
        status.step('write new images');
        // Registered before the write: putting back what already runs is harmless on a host the
        // write never reached, and it covers a write whose answer was lost.
        targets.forEach((target, i) =>
          saga.addCompensation(`restore previous images on ${target.instance}`, async () => {
            restored[target.instance] = await restore(target, release.directory, previous[i]!, checks);
          }),
        );
        await Promise.all(targets.map((target) => setImages(target, release.directory, release.images)));

        status.step('pull and start');
        await Promise.all(targets.map((target) => composeUp(target, release.directory)));

        status.step('health gate');
        const urls = (await Promise.all(targets.map((target) => healthGate(target.host, checks)))).flat();
        // A release that crashed after starting is no longer listed as running.
        const running = await Promise.all(targets.map((target) => expectRunning(target, release.directory, release.images)));

        if (release.analysis && patched(ANALYSIS_PATCH)) {
          status.step('analysis');
          await verifyRelease(release, replacedTags(previous), status);
        }

        status.finish('done');
        return {
          environment: release.environment,
          images: release.images,
          hosts: targets.map((target, i) => ({
            instance: target.instance,
            address: target.host,
            previous: previous[i]!,
            running: running[i]!,
          })),
          urls,
        };
      },
      {
        onRollback: () => status.finish('rolling back'),
        // Final state, reason and what was put back, for `opsflow status` and the Web UI.
        onRolledBack: (report, err) => status.rolledBack(report, isCancellation(err) ? 'cancelled' : describeError(err)),
        describeRollback: (what, report) => {
          if (report.failed.length > 0) {
            const failures = report.failed.map((f) => `${f.name}: ${f.error}`).join('; ');
            return {
              message: `release ${attempted} failed (${what}) and the previous images did not come back: ${failures}. Check the hosts by hand (docker compose ps in ${release.directory}).`,
              details: {
                failure: what,
                attempted: release.images,
                previous: byInstance(targets, previous),
                restored,
                rollbackFailures: report.failed,
              },
            };
          }
          const now = targets
            .map(
              (target) => `${target.instance} runs ${describeImages(pick(restored[target.instance] ?? {}, Object.keys(release.images)))}`,
            )
            .join('; ');
          return {
            message: `release ${attempted} failed (${what}); rolled back, healthy again: ${now}`,
            details: { failure: what, attempted: release.images, running: restored },
          };
        },
      },
    );
  } catch (err) {
    throw withNameOfItsTime(err);
  }
}

/** Runs recorded before the saga dialect ended with deployRelease's own names; replaying them must give those back. */
function withNameOfItsTime(err: unknown): unknown {
  if (!(err instanceof ApplicationFailure) || (err.type !== OUTCOME.RolledBack && err.type !== OUTCOME.RollbackIncomplete)) return err;
  if (patched(SAGA_FAILURE_TYPES_PATCH)) return err;
  const legacy = Object.keys(LEGACY_FAILURE_TYPES).find((old) => LEGACY_FAILURE_TYPES[old] === err.type)!;
  return ApplicationFailure.create({
    type: legacy,
    message: err.message,
    details: err.details ?? undefined,
    nonRetryable: true,
    cause: err.cause,
  });
}

export function hostTargets(release: DeployRelease): HostTarget[] {
  return release.hosts.map((h) => ({
    instance: h.instance,
    host: h.address,
    port: release.ssh.port,
    user: release.ssh.user,
    key: release.ssh.key,
    fingerprints: [h.hostKey],
  }));
}

/** `docker compose ps` on the host: every running service with its image. */
export async function runningImages(target: HostTarget, directory: string): Promise<Record<string, string[]>> {
  const { stdoutTail } = await ssh.runRemoteCommand({ ...target, script: RUNNING_IMAGES, args: [directory], label: 'running images' });
  const running: Record<string, string[]> = {};
  for (const line of stdoutTail.split('\n')) {
    const [service, image, ...rest] = line.trim().split(/\s+/);
    if (!service || !image || rest.length > 0) continue;
    running[service] = [...new Set([...(running[service] ?? []), image])];
  }
  return running;
}

/** What to go back to: each service being deployed must run, with one recognisable image. */
export function previousImages(target: HostTarget, running: Record<string, string[]>, services: string[]): Images {
  const previous: Images = {};
  for (const service of services) {
    const images = running[service] ?? [];
    const refuse = (type: keyof typeof STEP_FAILURE, why: string) =>
      failure(STEP_FAILURE[type], `${service} on ${target.instance} ${why}; nothing was changed`, {
        details: [{ instance: target.instance, running }],
      });
    if (images.length === 0)
      throw refuse(
        'ServiceNotRunning',
        `is not a running service (running: ${Object.keys(running).sort().join(', ') || 'none'}), so there is no version to go back to`,
      );
    if (images.length > 1) throw refuse('ServiceImagesDiffer', `runs several images at once (${images.join(', ')})`);
    if (!IMAGE_REF.test(images[0]!))
      throw refuse('UnrecognisedImage', `runs ${images[0]}, which is not an image with a tag that could be restored`);
    previous[service] = images[0]!;
  }
  return previous;
}

/** Rewrites only the `<SERVICE>_IMAGE` lines of .env; every other line (secrets too) stays on the host. */
export async function setImages(target: HostTarget, directory: string, images: Images): Promise<void> {
  const pairs = Object.entries(images).flatMap(([service, image]) => [imageVariable(service), image]);
  await ssh.runRemoteCommand({ ...target, script: SET_ENV_VALUES, args: [directory, ...pairs], label: 'set images' });
}

export async function composeUp(target: HostTarget, directory: string): Promise<void> {
  await ssh.runRemoteCommand({
    ...target,
    script: COMPOSE_UP,
    args: [directory],
    label: 'docker compose pull and up',
    timeoutMs: 20 * 60_000,
  });
}

/** Every service in `images` runs exactly that image; returns all running services' images. */
export async function expectRunning(target: HostTarget, directory: string, images: Images): Promise<Images> {
  const running = await runningImages(target, directory);
  const wrong = Object.entries(images).filter(([service, image]) => running[service]?.length !== 1 || running[service]![0] !== image);
  if (wrong.length > 0) {
    const what = wrong
      .map(
        ([service, image]) =>
          `${service} should run ${image} but ${running[service]?.length ? `runs ${running[service]!.join(', ')}` : 'is not running'}`,
      )
      .join('; ');
    throw failure(STEP_FAILURE.ReleaseNotRunning, `on ${target.instance}: ${what}`, { details: [{ instance: target.instance, running }] });
  }
  return Object.fromEntries(Object.entries(running).map(([service, list]) => [service, list.join(', ')]));
}

/** The undo of a release on one host: the previous images, restarted, running and healthy. */
export async function restore(target: HostTarget, directory: string, previous: Images, checks: HealthCheck[]): Promise<Images> {
  await setImages(target, directory, previous);
  await composeUp(target, directory);
  await healthGate(target.host, checks);
  return expectRunning(target, directory, previous);
}

export function describeImages(images: Images): string {
  return (
    Object.entries(images)
      .map(([service, image]) => `${service} ${image}`)
      .join(', ') || 'nothing'
  );
}

/** The tags the release replaces, once each. */
function replacedTags(previous: Images[]): string[] {
  return [...new Set(previous.flatMap((images) => Object.values(images).map(imageTag)))];
}

function pick(images: Images, services: string[]): Images {
  return Object.fromEntries(services.filter((s) => s in images).map((s) => [s, images[s]!]));
}

function byInstance(targets: HostTarget[], images: Images[]): Record<string, Images> {
  return Object.fromEntries(targets.map((target, i) => [target.instance, images[i]!]));
}
