// Droplet actions a snapshot needs: an action waited for to its end, a clean shutdown (or the
// power cut when the image cannot do one), and power on again.
import { ApplicationFailure } from '@temporalio/activity';
import type { DigitalOceanResources } from '../../integrations/digitalocean/resources';
import type { DropletActionBody } from '../../integrations/digitalocean/resources/droplets';
import { findOrUndefined } from './failures';
import type { cloudWaits } from './wait';
import { STEP_FAILURE } from '../../workflows/shared/failures';

export function dropletPower(waitForAction: ReturnType<typeof cloudWaits>['waitForAction']) {
  async function act(api: DigitalOceanResources, dropletId: number, body: DropletActionBody, what: string): Promise<void> {
    const action = await api.droplets.act(dropletId, body);
    await waitForAction(api, action.id, what);
  }

  /** A clean shutdown; if the droplet cannot do one (no ACPI in its image), its power is cut. */
  async function shutDown(api: DigitalOceanResources, dropletId: number, name: string): Promise<void> {
    try {
      await act(api, dropletId, { type: 'shutdown' }, `shut down droplet ${name}`);
    } catch (err) {
      if (!(err instanceof ApplicationFailure && err.type === STEP_FAILURE.DigitalOceanActionErrored)) throw err;
      await act(api, dropletId, { type: 'power_off' }, `power off droplet ${name}`);
    }
  }

  async function powerOn(api: DigitalOceanResources, dropletId: number, name: string): Promise<void> {
    const found = await findOrUndefined(() => api.droplets.get(dropletId));
    if (found?.status === 'off') await act(api, dropletId, { type: 'power_on' }, `power on droplet ${name}`);
  }

  return { act, shutDown, powerOn };
}
