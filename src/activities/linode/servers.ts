// Servers are Linode instances: created under the run's tags with a private address and behind the
// run's firewall (a retry finds those an earlier attempt made, by tag and label), waited for until
// running, deleted by tag. In a VPC (networkId) an instance has a public and a vpc interface, and
// its VPC address is its private one; without, Linode's per-region private network gives it one.
import { randomBytes } from 'node:crypto';
import {
  addFirewallDevice,
  createLinode,
  deleteLinode,
  getFirewalls,
  getLinode,
  getLinodeIPs,
  getLinodes,
  getVPC,
  type InterfacePayload,
  type Linode,
} from '@linode/api-v4';
import { Context, heartbeat } from '@temporalio/activity';
import { ownerTags, workflowTag } from '../../names/ownership-tags';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { connect, DEFAULT_LINODE_POLL, type LinodeDeps } from './deps';
import { linodeStep } from './failures';
import { allPages, keyFingerprint, linodeImage, linodeType, serverOf } from './translate';
import type { Server } from '../../providers/cloud-provider';

type ServerActivities = Pick<CloudProviderActivities, 'ensureServers' | 'waitForServers' | 'deleteServersTagged'>;

export const linodesTagged = (tag: string) => allPages((params) => getLinodes(params, { tags: tag }));

/** Polls `check` with backoff, heartbeating, until it returns a value; cancellation ends it. */
export async function pollUntil<T>(deps: LinodeDeps, what: string, check: () => Promise<T | undefined>): Promise<T> {
  const poll = deps.pollMs ?? DEFAULT_LINODE_POLL;
  for (let delay = poll.first; ; delay = Math.min(poll.max, delay * 2)) {
    const value = await check();
    if (value !== undefined) return value;
    heartbeat({ waitingFor: what });
    await Context.current().sleep(delay);
  }
}

function publicKeysFor(deps: LinodeDeps, fingerprints: string[]): string[] {
  const keys = deps.sshKeys?.() ?? [];
  return fingerprints.map((fingerprint) => {
    const key = keys.find((k) => keyFingerprint(k.publicKey) === fingerprint);
    if (!key) throw failure(STEP_FAILURE.SshKeyUnavailable, `no SSH key of this worker has fingerprint ${fingerprint}`);
    return key.publicKey;
  });
}

/** The interfaces of an instance in the VPC: public first (its own address), then the VPC's one subnet. */
async function vpcInterfaces(vpcId: number): Promise<InterfacePayload[]> {
  const vpc = await getVPC(vpcId);
  const subnet = vpc.subnets[0];
  if (!subnet) throw failure(STEP_FAILURE.ResourceConflict, `VPC ${vpc.label} has no subnet to put instances in`);
  return [{ purpose: 'public' }, { purpose: 'vpc', vpc_id: vpc.id, subnet_id: subnet.id }];
}

/** The server with its VPC address as its private one, when it has a VPC interface (Linode lists those apart). */
async function withVpcAddress(linode: Linode): Promise<Server> {
  const server = serverOf(linode);
  if (server.privateIp) return server;
  const vpcAddress = (await getLinodeIPs(linode.id)).ipv4.vpc.find((v) => v.address)?.address;
  return { ...server, privateIp: vpcAddress ?? '' };
}

export function serverActivities(deps: LinodeDeps): ServerActivities {
  return {
    async ensureServers(input) {
      return linodeStep('create Linode instances', async () => {
        connect(deps);
        const authorizedKeys = publicKeysFor(deps, input.sshKeyFingerprints);
        const network = input.networkId === undefined ? undefined : await vpcInterfaces(Number(input.networkId));
        // The run's firewall (made just before, under the run's tag) protects its instances from the first boot.
        const firewalls = await allPages((params) => getFirewalls(params, { tags: workflowTag(input.owner) }));
        const firewall = firewalls.length === 1 ? firewalls[0] : undefined;
        const mine = await linodesTagged(workflowTag(input.owner));
        const created = new Set<number>();
        for (const label of input.names.filter((name) => !mine.some((l) => l.label === name))) {
          const linode = await createLinode({
            label,
            region: input.region,
            type: linodeType(input.size),
            image: linodeImage(input.image),
            authorized_keys: authorizedKeys,
            // Linode requires a root password with an image; nobody logs in with it (keys only),
            // so a random one is sent and kept nowhere.
            root_pass: randomBytes(24).toString('base64url') + 'aA1!',
            ...(network ? { interfaces: network } : { private_ip: true }),
            ...(firewall ? { firewall_id: firewall.id } : {}),
            tags: [...input.tags, ...ownerTags(input.owner)],
          });
          created.add(linode.id);
          mine.push(linode);
        }
        // One an earlier attempt made whose firewall device was not added (a lost response) joins it now.
        const guarded = new Set(firewall?.entities.filter((e) => e.type === 'linode').map((e) => e.id));
        const unguarded = mine.filter((l) => input.names.includes(l.label) && !created.has(l.id) && !guarded.has(l.id));
        for (const linode of firewall ? unguarded : []) await addFirewallDevice(firewall!.id, { id: linode.id, type: 'linode' });
        return input.names.map((name) => {
          const linode = mine.find((l) => l.label === name);
          if (!linode) throw new Error(`Linode ${name} was created but is not listed`);
          return { id: linode.id, name: linode.label };
        });
      });
    },

    async waitForServers(input) {
      return linodeStep('wait for Linode instances', async () => {
        connect(deps);
        return pollUntil(deps, `${input.servers.length} Linode instance(s) to run`, async () => {
          const current = await Promise.all(input.servers.map((s) => getLinode(s.id)));
          return current.every((l) => l.status === 'running') ? Promise.all(current.map(withVpcAddress)) : undefined;
        });
      });
    },

    async deleteServersTagged(input) {
      return linodeStep(`delete Linode instances tagged ${input.tag}`, async () => {
        connect(deps);
        const before = await linodesTagged(input.tag);
        for (const linode of before) await deleteLinode(linode.id);
        await pollUntil(deps, `Linode instances tagged ${input.tag} to be gone`, async () =>
          (await linodesTagged(input.tag)).length === 0 ? true : undefined,
        );
        return before.length;
      });
    },
  };
}
