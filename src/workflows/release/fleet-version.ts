// The version a fleet runs before a rollout: every host given must run the same images for the
// services being changed, or the rollout would not know what "stable" means.
import type { HostTarget } from '../environment/host-steps';
import { failure, STEP_FAILURE } from '../shared/failures';
import { describeImages, previousImages, runningImages, type Images } from './deploy-release';

/** The stable version: every fleet host must run the same images for the services being changed. */
export async function sameImagesEverywhere(targets: HostTarget[], directory: string, services: string[]): Promise<Images> {
  const each = await Promise.all(targets.map(async (t) => previousImages(t, await runningImages(t, directory), services)));
  const first = JSON.stringify(each[0]);
  const odd = targets.filter((_, i) => JSON.stringify(each[i]) !== first);
  if (odd.length > 0)
    throw failure(
      STEP_FAILURE.ServiceImagesDiffer,
      `the fleet does not run one version: ${targets.map((t, i) => `${t.instance} runs ${describeImages(each[i]!)}`).join('; ')}; nothing was changed (finish or undo the last release first)`,
    );
  return each[0]!;
}
