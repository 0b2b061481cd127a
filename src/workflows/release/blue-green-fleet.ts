// A blue-green rollout's hosts and traffic: the active (blue) fleet nginx serves, the preview
// (green) fleet out of rotation that gets the new images, and the switch between them. Each
// switch is one setNginxWeights activity (one `nginx -t` and one reload): blue is the upstream's
// stable side, green its canary side, so 100/0 serves blue and 0/100 serves green. A switch back
// touches no host: the old fleet kept its version and stayed warm.
import type { Activities } from '../../activities';
import type { Weights } from '../../rollouts/traffic/router';
import { serversInRotation } from '../../rollouts/traffic/nginx-config';
import { SSH_STEP, type HealthCheck, type HostTarget } from '../environment/host-steps';
import { summarizedActivities } from '../shared/summarized-activities';
import type { Images } from './deploy-release';
import { applySplit, deployImages, type SplitSetup } from './rollout-fleet';

const ssh = summarizedActivities<Activities>(SSH_STEP);

/** The servers (address:port) nginx's upstream sends traffic to now, read from its file on the front host. */
export async function serversNginxServes(split: SplitSetup): Promise<string[]> {
  const { stdoutTail } = await ssh.runRemoteCommand({
    ...split.front,
    script: 'if [ -f "$1" ]; then cat "$1"; fi',
    args: [split.upstreamFile],
    label: 'read the nginx upstream',
  });
  return serversInRotation(stdoutTail, split.upstream);
}

export interface BlueGreenSetup {
  split: SplitSetup;
  active: HostTarget[];
  preview: HostTarget[];
  directory: string;
  checks: HealthCheck[];
  previewImages: Images;
  changed: () => void;
}

export class BlueGreenFleet {
  /** stable: the active fleet's share, canary: the preview's. */
  weights: Weights = { stable: 100, canary: 0 };
  /** Once the old fleet is out of rotation for good, the upstream's sides are swapped (the new fleet is its stable side). */
  scaledDown = false;

  constructor(private readonly setup: BlueGreenSetup) {}

  get active(): HostTarget[] {
    return this.setup.active;
  }

  get preview(): HostTarget[] {
    return this.setup.preview;
  }

  /** Traffic on the active fleet only, the preview listed `down` (its hosts are about to change). */
  async previewOutOfRotation(): Promise<void> {
    await this.route({ stable: 100, canary: 0 });
  }

  /** The preview's hosts in parallel (none carries traffic): deployRelease's host steps and health gate. */
  async deployPreview(): Promise<void> {
    const { directory, previewImages, checks } = this.setup;
    await Promise.all(this.setup.preview.map((host) => deployImages(host, directory, previewImages, checks)));
  }

  /** The promotion: all traffic to the preview in one reload; the active fleet stays up, out of rotation. */
  async switchToPreview(): Promise<void> {
    await this.route({ stable: 0, canary: 100 });
  }

  /** Abort or a failed post-promotion analysis: all traffic back to the old fleet in one reload (false if it never left). */
  async switchBack(): Promise<boolean> {
    if (this.weights.canary === 0) return false;
    await this.route({ stable: 100, canary: 0 });
    return true;
  }

  /**
   * After scaleDownDelay: the upstream rewritten with the new fleet as its stable side and the old
   * one listed `down`. nginx serves the same hosts as before; the old fleet keeps its version, out
   * of rotation, and is the next rollout's preview.
   */
  async scaleDownOld(): Promise<void> {
    await applySplit(this.setup.split, this.setup.preview, this.setup.active, { stable: 100, canary: 0 });
    this.scaledDown = true;
    this.setup.changed();
  }

  private async route(weights: Weights): Promise<void> {
    await applySplit(this.setup.split, this.setup.active, this.setup.preview, weights);
    this.weights = weights;
    this.setup.changed();
  }
}
