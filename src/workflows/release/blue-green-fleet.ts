// A blue-green rollout's hosts and traffic: the active (blue) fleet nginx serves, the preview
// (green) fleet out of rotation that gets the new images, and the switch between them. Each
// switch is one setNginxWeights activity (one `nginx -t` and one reload): blue is the upstream's
// stable side, green its canary side, so 100/0 serves blue and 0/100 serves green. A switch back
// touches no host: the old fleet kept its version and stayed warm.
//
// With preview droplets made for the rollout (previewFleet.create), the preview joins the upstream
// once it is ready (setPreview), and the rollout ends with the fleet back in front: the old fleet
// gets the new images while the preview carries the traffic (updateActive), takes the traffic back
// (returnToActive), and the preview leaves the upstream (removePreview) before it is destroyed.
import type { Activities } from '../../activities';
import type { Weights } from '../../rollouts/traffic/router';
import { serversInRotation } from '../../rollouts/traffic/nginx-config';
import { SSH_STEP, type HealthCheck, type HostTarget } from '../environment/host-steps';
import { summarizedActivities } from '../shared/summarized-activities';
import { restore, type Images } from './deploy-release';
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
  /** Active hosts given (or being given) the new images at the end of a rollout with created preview droplets. */
  activeUpdated: HostTarget[] = [];

  constructor(private readonly setup: BlueGreenSetup) {}

  /** Created preview droplets, once they run the new version: the upstream's canary side from the next split on. */
  setPreview(hosts: HostTarget[]): void {
    this.setup.preview = hosts;
    this.setup.changed();
  }

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
   * The rollback's undo of updateActive: active hosts that got (or were getting) the new images are
   * put back on `images` behind the health gate while the preview still carries the traffic, so the
   * switch back that follows lands on the old version. Returns their names.
   */
  async restoreActive(images: Images): Promise<string[]> {
    const hosts = this.activeUpdated;
    if (hosts.length === 0) return [];
    const { directory, checks } = this.setup;
    await Promise.all(hosts.map((host) => restore(host, directory, images, checks)));
    this.activeUpdated = [];
    return hosts.map((h) => h.instance);
  }

  /** After scaleDownDelay, with created preview droplets: the old fleet, out of rotation, given the new images and gated like the preview. */
  async updateActive(): Promise<void> {
    if (this.weights.stable !== 0)
      throw new Error('the old fleet still carries traffic; it changes only while the preview serves everything');
    const { directory, previewImages, checks } = this.setup;
    this.activeUpdated = [...this.setup.active];
    await Promise.all(this.setup.active.map((host) => deployImages(host, directory, previewImages, checks)));
  }

  /** The fleet, on the new version now, takes all traffic back in one reload; the preview stays listed `down`, draining. */
  async returnToActive(): Promise<void> {
    await this.route({ stable: 100, canary: 0 });
    this.activeUpdated = [];
  }

  /** Whether the preview is in the upstream now (listed, with weight or `down`). */
  get previewListed(): boolean {
    return this.listed;
  }

  /** The preview out of the upstream file (it carries no traffic, or this is refused: that would drop requests). */
  async removePreview(): Promise<void> {
    if (this.weights.canary > 0)
      throw new Error(
        `the preview ${this.setup.preview.map((h) => h.instance).join(', ')} still carries ${this.weights.canary}% of the traffic; it leaves nginx's upstream only once the traffic is back on the fleet`,
      );
    await applySplit(this.setup.split, this.setup.active, [], this.weights);
    this.listed = false;
    this.setup.changed();
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

  private listed = false;

  private async route(weights: Weights): Promise<void> {
    await applySplit(this.setup.split, this.setup.active, this.setup.preview, weights);
    this.listed = this.setup.preview.length > 0;
    this.weights = weights;
    this.setup.changed();
  }
}
