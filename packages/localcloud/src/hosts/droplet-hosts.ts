// Droplets as hosts: when a droplet becomes active it gets a folder of its own as its filesystem
// and an SSH daemon on its loopback address; when it is destroyed both go. Folders outlive a
// restart of the local cloud, so a droplet comes back with its files and its host key.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { log } from '../log';
import type { CloudContext, HostedServer, HostHooks } from '../context';
import type { DropletHostRecord } from '../state';
import { ensurePrivateDir } from '../endpoint';
import { loadOrCreateHostKey } from './host-key';
import { dropletLoopbackAddress } from './isolation/droplet-loopback';
import { DropletNamespaces } from './isolation/namespaces';
import { firewallElements } from './isolation/cloud-firewalls';
import { DropletNetworkPolicy } from './isolation/network-policy';
import { dropletUidBase, freeUidSlot } from './isolation/uid-range';
import { prepareEtcTemplate, prepareRoot, resolveBwrap, type DropletSandbox } from './sandbox';
import { DropletServices } from './services/droplet-services';
import { DropletSshServer, type SshCounts } from './ssh-server';
import { VolumeDisks } from './volume-disks';
import { writeVolumeShims } from './volume-shims';

export interface DropletHostsOptions {
  /** Folder holding one folder per droplet. */
  dir: string;
  /** Port the droplets' SSH daemons listen on; 22 unless the machine refuses it (not root). */
  sshPort?: number;
}

/** Port used when 22 cannot be bound; the environment spec's `ssh.port` then names it. */
export const FALLBACK_SSH_PORT = 2222;

interface RunningHost {
  sandbox: DropletSandbox;
  ssh: DropletSshServer;
  services: DropletServices;
}

export class DropletHosts implements HostHooks {
  /** SSH logins and commands on every droplet since the cloud started. */
  readonly sshCounts: SshCounts = { logins: 0, commands: 0 };
  private readonly running = new Map<number, Promise<RunningHost | undefined>>();
  private readonly log = log;
  private readonly shimDir: string;
  private readonly disks: VolumeDisks;
  private readonly etcTemplate: string;
  /** The machine's droplet firewall; no droplet starts without it. */
  private readonly network: Promise<DropletNetworkPolicy>;
  /** The same, once installed. */
  private policy?: DropletNetworkPolicy;

  constructor(
    private readonly ctx: CloudContext,
    private readonly options: DropletHostsOptions,
  ) {
    resolveBwrap();
    // Droplets never walk these folders (each sees its own root only); other local users must not either.
    ensurePrivateDir(options.dir);
    this.network = DropletNetworkPolicy.install(ctx.hostNetwork);
    this.network.catch(() => undefined); // reported by each droplet that cannot start without it
    // The table is new: the routes of reserved IPs kept in the state come back.
    void this.network.then(
      (network) => {
        this.policy = network;
        this.reservedIpsChanged();
        this.firewallsChanged();
      },
      () => undefined,
    );
    this.shimDir = path.join(options.dir, '_shims');
    mkdirSync(path.join(this.shimDir, 'bin'), { recursive: true });
    writeVolumeShims(path.join(this.shimDir, 'bin'));
    DropletServices.writeShims(this.shimDir);
    this.etcTemplate = path.join(options.dir, '_template');
    prepareEtcTemplate(this.etcTemplate);
    this.disks = new VolumeDisks(ctx, path.join(options.dir, '_volumes'));
  }

  volumeDestroyed(volumeId: string): void {
    this.disks.volumeDestroyed(volumeId);
  }

  dropletActive(droplet: HostedServer): void {
    if (this.running.has(droplet.id)) return;
    this.running.set(
      droplet.id,
      this.bringUp(droplet).catch((error: Error) => {
        // Where it failed, too: a host that does not start is a bug of the local cloud, not of the user.
        const where = error.stack
          ?.split('\n')
          .slice(1, 8)
          .map((line) => line.trim());
        this.log.error('droplet host failed to start', { droplet: droplet.id, error: error.message, where });
        return undefined;
      }),
    );
  }

  /** Routes every assigned reserved IP (and Linode extra address) to its server's address, from the state as it is now. */
  reservedIpsChanged(): void {
    const state = this.ctx.store.state;
    const routes: Record<string, string> = {};
    for (const ip of state.reservedIps) {
      const host = ip.droplet && state.internal.hosts[ip.droplet.id];
      if (host) routes[ip.ip] = host.address;
    }
    // A Linode instance's extra public addresses reach it the same way.
    for (const extra of state.linode.extraIps) {
      const host = state.internal.hosts[extra.linodeId];
      if (host) routes[extra.address] = host.address;
    }
    try {
      this.policy?.routeReservedIps(routes); // before the policy is installed, its installation routes them
    } catch (error) {
      this.log.error('reserved IPs could not be routed to their droplets', { error: (error as Error).message });
    }
  }

  /** Enforces every cloud firewall between hosts, from the state as it is now (cloud-firewalls.ts). */
  firewallsChanged(): void {
    try {
      this.policy?.applyFirewalls(firewallElements(this.ctx.store.state, this.ctx.hostNetwork));
    } catch (error) {
      this.log.error('cloud firewalls could not be enforced', { error: (error as Error).message });
    }
  }

  dropletDestroyed(dropletId: number): void {
    const host = this.running.get(dropletId);
    this.running.delete(dropletId);
    this.reservedIpsChanged(); // a destroyed droplet's reserved IP answers no more
    this.firewallsChanged();
    void (async () => {
      await stopHost(await host);
      rmSync(this.dropletDir(dropletId), { recursive: true, force: true });
    })();
  }

  /** Resolves once the droplet's SSH daemon listens (or failed to start). */
  async ready(dropletId: number): Promise<boolean> {
    return (await this.running.get(dropletId)) !== undefined;
  }

  /** The droplet's sandbox, for tools that act inside it. */
  async sandbox(dropletId: number): Promise<DropletSandbox | undefined> {
    return (await this.running.get(dropletId))?.sandbox;
  }

  /** Lets droplets reach <address>:<port> (127.0.0.1 by default), a server of this local cloud (its API, Spaces), until close(). */
  async allowMachinePort(port: number, address = '127.0.0.1'): Promise<void> {
    await (await this.network).open(port, address);
  }

  /** Stops every host but keeps their folders, for a restart. */
  async close(): Promise<void> {
    const hosts = [...this.running.values()];
    this.running.clear();
    await Promise.all(hosts.map(async (host) => stopHost(await host)));
    await (await this.network.catch(() => undefined))?.close();
  }

  private dropletDir(dropletId: number): string {
    return path.join(this.options.dir, String(dropletId));
  }

  private async bringUp(droplet: HostedServer): Promise<RunningHost | undefined> {
    const record = this.ctx.store.state.internal.hosts[droplet.id];
    if (!record) return undefined;
    // Chosen before any await, so droplets booting together never take the same slot.
    if (record.uidSlot === undefined) {
      record.uidSlot = freeUidSlot(Object.values(this.ctx.store.state.internal.hosts).map((h) => h.uidSlot));
      this.ctx.store.changed();
    }
    const uidBase = dropletUidBase(this.ctx.hostNetwork, record.uidSlot);
    const dir = this.dropletDir(droplet.id);
    await this.network;
    this.firewallsChanged(); // its address and its users are judged before anything of it runs
    const isolation = await DropletNamespaces.create(uidBase, resolveBwrap());
    try {
      return await this.bringUpIn(droplet, record, dir, isolation);
    } catch (error) {
      await isolation.close();
      throw error;
    }
  }

  private async bringUpIn(
    droplet: HostedServer,
    record: DropletHostRecord,
    dir: string,
    isolation: DropletNamespaces,
  ): Promise<RunningHost> {
    const sandbox: DropletSandbox = {
      dropletId: droplet.id,
      name: droplet.name,
      root: path.join(dir, 'root'),
      address: record.address,
      privateAddress: record.privateAddress,
      loopbackAddress: dropletLoopbackAddress(this.ctx.hostNetwork, record.uidSlot!),
      shimDir: this.shimDir,
      binds: () => this.disks.binds(sandbox),
      isolation,
    };
    ensurePrivateDir(dir); // its host key
    mkdirSync(sandbox.root, { recursive: true });
    await prepareRoot(sandbox, this.etcTemplate);
    this.disks.boot(sandbox);
    // Services first: a unit or container that ran before a restart is back before SSH answers.
    const services = new DropletServices(sandbox);
    await services.start();
    const hostKey = loadOrCreateHostKey(path.join(dir, 'ssh_host_ed25519_key'));
    const ssh = new DropletSshServer(sandbox, hostKey, {
      // Read at each login: keys, faults and the droplet's region can change while it runs.
      authorizedKeys: () => this.ctx.store.state.internal.hosts[droplet.id]?.authorizedKeys ?? [],
      refusing: () => this.ctx.faults.refusesSsh(droplet.id, droplet.name),
      dark: () => this.ctx.faults.isDark(droplet.region.slug),
      counts: this.sshCounts,
    });
    try {
      record.sshPort = await this.listen(ssh, this.options.sshPort ?? 22);
    } catch (error) {
      await services.stop();
      throw error;
    }
    return { sandbox, ssh, services };
  }

  private async listen(ssh: DropletSshServer, port: number): Promise<number> {
    try {
      return await ssh.listen(port);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EACCES' || this.options.sshPort !== undefined) throw error;
      return ssh.listen(FALLBACK_SSH_PORT);
    }
  }
}

async function stopHost(host: RunningHost | undefined): Promise<void> {
  if (!host) return;
  await host.ssh.close();
  await host.services.stop();
  await host.sandbox.isolation.close();
}
