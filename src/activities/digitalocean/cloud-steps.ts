// DigitalOcean activities: each create first looks for its resource by deterministic name and
// owner mark (across all pages) and returns it if it exists; each delete treats "not found" as
// done; waiting for the cloud heartbeats and backs off. Retrying is left to Temporal.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DigitalOceanClient } from '../../integrations/digitalocean/client';
import { DigitalOceanApiError } from '../../integrations/digitalocean/errors';
import { deleteIgnoringNotFound, digitalOceanStep, findOrUndefined, rememberedByEarlierAttempt, rememberForRetry } from './failures';
import { cloudWaits, type ApiAction, type PollIntervals } from './wait';
import { environmentTag, ownerDescription, ownerTags, workflowTag, type Owner } from '../../names/ownership-tags';

export interface DropletRef {
  id: number;
  name: string;
}

export interface ActiveDroplet extends DropletRef {
  publicIp: string;
  privateIp: string;
}

interface ApiDroplet {
  id: number;
  name: string;
  status: string;
  tags: string[];
  networks: { v4: { ip_address: string; type: string }[] };
}

export interface EnvironmentResources {
  tag: string;
  droplets: DropletRef[];
  volumes: { id: string; region: string; dropletIds: number[] }[];
  firewalls: string[];
  vpcs: string[];
  reservedIps: string[];
}

export interface DigitalOceanDeps {
  /** The account's client; a function so the worker can pick the local cloud or a real account. */
  digitalOcean: () => DigitalOceanClient;
  /** Poll intervals while waiting for the cloud: first wait, and the longest. */
  pollMs?: PollIntervals;
  /** The same for droplet snapshots, which take minutes (default 10 s, then up to 30 s). */
  snapshotPollMs?: PollIntervals;
  /** The OpenSSH public key of one of the worker's named SSH keys (OPSFLOW_SSH_KEYS). */
  sshPublicKey?: (name: string) => string;
}

/** The heartbeat memory key for the reserved IP an attempt created. */
const CREATED_RESERVED_IP = 'createdReservedIp';

function conflict(what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${what} already exists and is not managed by this opsflow run; rename it or remove it`, 'ResourceConflict');
}

export function createDigitalOceanActivities(deps: DigitalOceanDeps) {
  const { waitUntil, waitForAction } = cloudWaits(deps.pollMs ?? { first: 1000, max: 10_000 });

  return {
    /**
     * Makes sure the account holds the public half of the worker's key named `name` and returns
     * its fingerprint, for droplet creation. The key is read on the worker; history sees only the
     * fingerprint. An existing account key with the same public key is reused, whatever its name.
     */
    async ensureSshKey(input: { name: string }): Promise<{ fingerprint: string }> {
      if (!deps.sshPublicKey) throw ApplicationFailure.nonRetryable('this worker has no SSH keys configured (OPSFLOW_SSH_KEYS)', 'SshKeyUnavailable');
      let publicKey: string;
      try {
        publicKey = deps.sshPublicKey(input.name).trim();
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'SshKeyUnavailable');
      }
      const keyBody = publicKey.split(/\s+/).slice(0, 2).join(' ');
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        const find = async () => (await client.listAll<{ fingerprint: string; public_key: string }>('/account/keys', 'ssh_keys')).find((k) => k.public_key.trim().split(/\s+/).slice(0, 2).join(' ') === keyBody);
        const existing = await find();
        if (existing) return { fingerprint: existing.fingerprint };
        try {
          const { ssh_key } = await client.request<{ ssh_key: { fingerprint: string } }>('POST', '/account/keys', { body: { name: `opsflow-${input.name}`, public_key: keyBody } });
          return { fingerprint: ssh_key.fingerprint };
        } catch (err) {
          // Environments provisioned at once race to register the same key: the loser's 422
          // ("already in use") means the key is there now.
          const registered = err instanceof DigitalOceanApiError && err.status === 422 ? await find() : undefined;
          if (registered) return { fingerprint: registered.fingerprint };
          throw err;
        }
      });
    },

    async ensureVpc(input: { owner: Owner; name: string; region: string; ipRange: string }): Promise<{ id: string }> {
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        const mark = ownerDescription(input.owner);
        const existing = (await client.listAll<{ id: string; name: string; description: string }>('/vpcs', 'vpcs')).find((v) => v.name === input.name);
        if (existing) {
          if (existing.description !== mark) throw conflict(`VPC ${input.name}`);
          return { id: existing.id };
        }
        const { vpc } = await client.request<{ vpc: { id: string } }>('POST', '/vpcs', { body: { name: input.name, region: input.region, ip_range: input.ipRange, description: mark } });
        return { id: vpc.id };
      });
    },

    async deleteVpc(input: { id: string }): Promise<string> {
      // 409 while droplets are still leaving the VPC is a conflict kind: not retryable by default,
      // so say it here: wait and retry.
      return digitalOceanStep(() => deleteIgnoringNotFound(() => deps.digitalOcean().request('DELETE', `/vpcs/${input.id}`))).catch((err: unknown) => {
        if (err instanceof ApplicationFailure && err.type === 'DigitalOceanConflict') throw ApplicationFailure.retryable(err.message, 'VpcStillInUse');
        throw err;
      });
    },

    async ensureFirewall(input: { owner: Owner; name: string; inbound: { protocol: string; ports: string; sources: string[] }[] }): Promise<{ id: string }> {
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        const existing = (await client.listAll<{ id: string; name: string; tags: string[] }>('/firewalls', 'firewalls')).find((f) => f.name === input.name);
        const envTag = environmentTag(input.owner.environment);
        if (existing) {
          if (!existing.tags.includes(envTag)) throw conflict(`firewall ${input.name}`);
          return { id: existing.id };
        }
        const anywhere = { addresses: ['0.0.0.0/0', '::/0'] };
        const { firewall } = await client.request<{ firewall: { id: string } }>('POST', '/firewalls', {
          body: {
            name: input.name,
            // The firewall follows the environment's tag, so droplets are covered as they appear.
            tags: [envTag],
            inbound_rules: input.inbound.map((r) => ({ protocol: r.protocol, ports: r.ports, sources: { addresses: r.sources } })),
            outbound_rules: [
              { protocol: 'tcp', ports: 'all', destinations: anywhere },
              { protocol: 'udp', ports: 'all', destinations: anywhere },
            ],
          },
        });
        return { id: firewall.id };
      });
    },

    async deleteFirewall(input: { id: string }): Promise<string> {
      return digitalOceanStep(() => deleteIgnoringNotFound(() => deps.digitalOcean().request('DELETE', `/firewalls/${input.id}`)));
    },

    async ensureDroplets(input: { owner: Owner; names: string[]; region: string; size: string; image: string; tags: string[]; vpcId?: string; sshKeyFingerprints: string[] }): Promise<DropletRef[]> {
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        const mine = await client.listAll<ApiDroplet>('/droplets', 'droplets', { tag_name: workflowTag(input.owner) });
        const missing = input.names.filter((name) => !mine.some((d) => d.name === name));
        for (let i = 0; i < missing.length; i += 10) {
          const { droplets } = await client.request<{ droplets: ApiDroplet[] }>('POST', '/droplets', {
            body: { names: missing.slice(i, i + 10), region: input.region, size: input.size, image: input.image, ssh_keys: input.sshKeyFingerprints, tags: [...input.tags, ...ownerTags(input.owner)], vpc_uuid: input.vpcId, monitoring: true },
          });
          mine.push(...droplets);
        }
        return input.names.map((name) => {
          const droplet = mine.find((d) => d.name === name) as ApiDroplet;
          return { id: droplet.id, name: droplet.name };
        });
      });
    },

    async waitForDropletsActive(input: { droplets: DropletRef[] }): Promise<ActiveDroplet[]> {
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        let polls = 0;
        // Paused first: the droplets were created a moment ago and take tens of seconds.
        return waitUntil(`${input.droplets.length} droplet(s) to become active`, async () => {
          const current = await Promise.all(input.droplets.map(async (d) => (await client.request<{ droplet: ApiDroplet }>('GET', `/droplets/${d.id}`)).droplet));
          // A droplet whose create action errored stays `new` for ever: say so instead of waiting
          // out the activity's timeout and its retries. Every third poll, so a normal create costs
          // a request or two more per droplet, not one per poll.
          const stillNew = ++polls % 3 === 0 ? current.filter((c) => c.status === 'new') : [];
          for (const d of stillNew) {
            const { actions } = await client.request<{ actions: ApiAction[] }>('GET', `/droplets/${d.id}/actions`);
            if (actions.some((a) => a.type === 'create' && a.status === 'errored')) {
              throw ApplicationFailure.nonRetryable(`droplet ${d.name} (${d.id}) was not created: its create action errored`, 'DropletCreateFailed');
            }
          }
          if (current.some((d) => d.status !== 'active')) return undefined;
          return current.map((d) => ({
            id: d.id,
            name: d.name,
            publicIp: d.networks.v4.find((n) => n.type === 'public')?.ip_address ?? '',
            privateIp: d.networks.v4.find((n) => n.type === 'private')?.ip_address ?? '',
          }));
        }, { pauseFirst: true });
      });
    },

    /** Deletes every droplet carrying the tag, then waits until none is listed. */
    async deleteDropletsByTag(input: { tag: string }): Promise<number> {
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        const before = await client.listAll<ApiDroplet>('/droplets', 'droplets', { tag_name: input.tag });
        if (before.length > 0) await client.request('DELETE', '/droplets', { params: { tag_name: input.tag } });
        await waitUntil(`droplets tagged ${input.tag} to be gone`, async () => ((await client.listAll('/droplets', 'droplets', { tag_name: input.tag })).length === 0 ? true : undefined));
        return before.length;
      });
    },

    async ensureVolume(input: { owner: Owner; name: string; region: string; sizeGb: number; filesystem: string }): Promise<{ id: string }> {
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        const [existing] = await client.listAll<{ id: string; tags: string[] }>('/volumes', 'volumes', { name: input.name, region: input.region });
        if (existing) {
          if (!existing.tags.includes(workflowTag(input.owner))) throw conflict(`volume ${input.name} in ${input.region}`);
          return { id: existing.id };
        }
        const { volume } = await client.request<{ volume: { id: string } }>('POST', '/volumes', {
          body: { name: input.name, region: input.region, size_gigabytes: input.sizeGb, filesystem_type: input.filesystem, tags: ownerTags(input.owner) },
        });
        return { id: volume.id };
      });
    },

    async attachVolume(input: { volumeId: string; dropletId: number; region: string }): Promise<void> {
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        const { volume } = await client.request<{ volume: { droplet_ids: number[] } }>('GET', `/volumes/${input.volumeId}`);
        if (volume.droplet_ids.includes(input.dropletId)) return;
        const { action } = await client.request<{ action: ApiAction }>('POST', `/volumes/${input.volumeId}/actions`, { body: { type: 'attach', droplet_id: input.dropletId, region: input.region } });
        await waitForAction(client, action.id, `attach volume ${input.volumeId}`);
      });
    },

    async detachVolume(input: { volumeId: string; dropletId: number; region: string }): Promise<void> {
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        const found = await findOrUndefined(() => client.request<{ volume: { droplet_ids: number[] } }>('GET', `/volumes/${input.volumeId}`));
        if (!found || !found.volume.droplet_ids.includes(input.dropletId)) return;
        const { action } = await client.request<{ action: ApiAction }>('POST', `/volumes/${input.volumeId}/actions`, { body: { type: 'detach', droplet_id: input.dropletId, region: input.region } });
        await waitForAction(client, action.id, `detach volume ${input.volumeId}`);
      });
    },

    async deleteVolume(input: { id: string }): Promise<string> {
      return digitalOceanStep(() => deleteIgnoringNotFound(() => deps.digitalOcean().request('DELETE', `/volumes/${input.id}`)));
    },

    /** Everything an environment owns, found by its tag (or, for VPCs, the mark in the description). */
    async findEnvironmentResources(input: { environment: string }): Promise<EnvironmentResources> {
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        const tag = environmentTag(input.environment);
        const droplets = await client.listAll<ApiDroplet>('/droplets', 'droplets', { tag_name: tag });
        const dropletIds = droplets.map((d) => d.id);
        const volumes = (await client.listAll<{ id: string; region: { slug: string }; droplet_ids: number[]; tags: string[] }>('/volumes', 'volumes')).filter((v) => v.tags.includes(tag));
        const firewalls = (await client.listAll<{ id: string; tags: string[] }>('/firewalls', 'firewalls')).filter((f) => f.tags.includes(tag));
        const vpcs = (await client.listAll<{ id: string; description: string }>('/vpcs', 'vpcs')).filter((v) => v.description.split(' ').includes(tag));
        const reservedIps = (await client.listAll<{ ip: string; droplet: { id: number } | null }>('/reserved_ips', 'reserved_ips')).filter((r) => r.droplet && dropletIds.includes(r.droplet.id));
        return {
          tag,
          droplets: droplets.map((d) => ({ id: d.id, name: d.name })),
          volumes: volumes.map((v) => ({ id: v.id, region: v.region.slug, dropletIds: v.droplet_ids })),
          firewalls: firewalls.map((f) => f.id),
          vpcs: vpcs.map((v) => v.id),
          reservedIps: reservedIps.map((r) => r.ip),
        };
      });
    },

    /**
     * A reserved IP assigned to the droplet: created with it, so a lost response is still found once
     * the assignment completes. Reserved IPs carry no name or tag: one that is not assigned cannot be
     * told from anyone else's, so an attempt first lets pending assignments (locked, unassigned IPs)
     * finish, and an assignment that errored releases its IP before failing; should the worker die
     * first, the retry finds that IP in the attempt's heartbeats and releases it.
     */
    async ensureReservedIp(input: { dropletId: number }): Promise<{ ip: string }> {
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        const list = () => client.listAll<{ ip: string; locked: boolean; droplet: { id: number } | null }>('/reserved_ips', 'reserved_ips');
        // Only a retry can follow a create whose response was lost, so only a retry waits for
        // pending assignments (which may be other environments'): a first attempt lists once.
        const retry = Context.current().info.attempt > 1;
        const assigned = retry
          ? await waitUntil('pending reserved IP assignments', async () => {
              const ips = await list();
              const mine = ips.find((r) => r.droplet?.id === input.dropletId);
              if (mine) return mine;
              return ips.some((r) => r.locked && !r.droplet) ? undefined : null;
            })
          : (await list()).find((r) => r.droplet?.id === input.dropletId);
        if (assigned) return { ip: assigned.ip };
        // An IP an earlier attempt made whose assignment errored, while that attempt's worker died
        // before releasing it: no listing can tell it is ours, its heartbeats can.
        const earlier = rememberedByEarlierAttempt<string>(CREATED_RESERVED_IP);
        if (earlier) {
          rememberForRetry(CREATED_RESERVED_IP, earlier);
          const found = await findOrUndefined(() => client.request<{ reserved_ip: { droplet: unknown } }>('GET', `/reserved_ips/${earlier}`));
          if (found && !found.reserved_ip.droplet) await deleteIgnoringNotFound(() => client.request('DELETE', `/reserved_ips/${earlier}`));
        }
        const created = await client.request<{ reserved_ip: { ip: string }; links: { actions: { id: number }[] } }>('POST', '/reserved_ips', { body: { droplet_id: input.dropletId } });
        rememberForRetry(CREATED_RESERVED_IP, created.reserved_ip.ip);
        try {
          for (const action of created.links.actions) await waitForAction(client, action.id, `assign reserved IP ${created.reserved_ip.ip}`);
        } catch (err) {
          if (err instanceof ApplicationFailure && err.type === 'DigitalOceanActionErrored') await deleteIgnoringNotFound(() => client.request('DELETE', `/reserved_ips/${created.reserved_ip.ip}`));
          throw err;
        }
        return { ip: created.reserved_ip.ip };
      });
    },

    async releaseReservedIp(input: { ip: string }): Promise<string> {
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        const found = await findOrUndefined(() => client.request<{ reserved_ip: { droplet: unknown } }>('GET', `/reserved_ips/${input.ip}`));
        if (found?.reserved_ip.droplet) {
          const { action } = await client.request<{ action: ApiAction }>('POST', `/reserved_ips/${input.ip}/actions`, { body: { type: 'unassign' } });
          await waitForAction(client, action.id, `unassign reserved IP ${input.ip}`);
        }
        return deleteIgnoringNotFound(() => client.request('DELETE', `/reserved_ips/${input.ip}`));
      });
    },
  };
}

export type DigitalOceanActivities = ReturnType<typeof createDigitalOceanActivities>;
