// Servers are droplets: created in batches under the run's tags (a retry, or a run over an
// environment an earlier run touched, finds those already made, by tag and name), waited for
// until active (the account's waits share their polls: droplet-board.ts), deleted by tag.
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { MAX_DROPLETS_PER_CREATE } from '../../integrations/digitalocean/resources/droplets';
import type { ApiDroplet } from '../../integrations/digitalocean/resources';
import { ownerTags, workflowTag } from '../../names/ownership-tags';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { DEFAULT_POLL, resourcesOf, type DigitalOceanDeps } from './deps';
import { dropletBoardOf } from './droplet-board';
import { digitalOceanStep } from './failures';
import { mustLookFirst } from './look-first';
import { serverOf } from './translate';
import { cloudWaits } from './wait';

type ServerActivities = Pick<CloudProviderActivities, 'ensureServers' | 'waitForServers' | 'deleteServersTagged'>;

export function serverActivities(deps: DigitalOceanDeps): ServerActivities {
  const api = resourcesOf(deps);
  const { waitUntil } = cloudWaits(deps.pollMs ?? DEFAULT_POLL);
  return {
    async ensureServers(input) {
      return digitalOceanStep(async () => {
        const { droplets } = api();
        const mine = mustLookFirst(input) ? await droplets.list({ tag_name: workflowTag(input.owner) }) : [];
        const missing = input.names.filter((name) => !mine.some((d) => d.name === name));
        for (let i = 0; i < missing.length; i += MAX_DROPLETS_PER_CREATE) {
          mine.push(
            ...(await droplets.create({
              names: missing.slice(i, i + MAX_DROPLETS_PER_CREATE),
              region: input.region,
              size: input.size,
              image: input.image,
              ssh_keys: input.sshKeyFingerprints,
              tags: [...input.tags, ...ownerTags(input.owner)],
              vpc_uuid: input.networkId,
              monitoring: true,
            })),
          );
        }
        return input.names.map((name) => {
          const droplet = mine.find((d) => d.name === name) as ApiDroplet;
          return { id: droplet.id, name: droplet.name };
        });
      });
    },

    async waitForServers(input) {
      return digitalOceanStep(async () => {
        const { droplets } = api();
        const board = dropletBoardOf(deps.digitalOcean());
        const ids = input.servers.map((s) => s.id);
        let seen = board.now;
        let polls = 0;
        // Paused first: the droplets were created a moment ago and take tens of seconds.
        return board.waitingFor(ids, () =>
          waitUntil(
            `${input.servers.length} droplet(s) to become active`,
            async () => {
              const look = await board.look(ids, seen);
              seen = look.seq;
              const current = look.droplets;
              // A droplet whose create action errored stays `new` for ever: say so instead of waiting
              // out the activity's timeout and its retries. Every third look, so a normal create costs
              // a request or two more per droplet, not one per poll.
              const stillNew = ++polls % 3 === 0 ? current.filter((c) => c.status === 'new') : [];
              for (const d of stillNew) {
                if ((await droplets.actions(d.id)).some((a) => a.type === 'create' && a.status === 'errored')) {
                  throw failure(STEP_FAILURE.DropletCreateFailed, `droplet ${d.name} (${d.id}) was not created: its create action errored`);
                }
              }
              return current.some((d) => d.status !== 'active') ? undefined : current.map(serverOf);
            },
            { pauseFirst: true },
          ),
        );
      });
    },

    async deleteServersTagged(input) {
      return digitalOceanStep(async () => {
        const { droplets } = api();
        const before = await droplets.list({ tag_name: input.tag });
        if (before.length > 0) await droplets.deleteTagged(input.tag);
        await waitUntil(`droplets tagged ${input.tag} to be gone`, async () =>
          (await droplets.list({ tag_name: input.tag })).length === 0 ? true : undefined,
        );
        return before.length;
      });
    },
  };
}
