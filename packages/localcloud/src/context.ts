// What every API route needs: the state, the action engine, the faults and the timing, plus
// hooks through which droplets become (and stop being) real hosts.
import type { ActionEngine } from './actions';
import type { Faults } from './faults';
import type { Store } from './store';
import type { Droplet } from './state';

/** What a host is made for: a droplet, or a Linode instance (ids come from one counter, so never collide). */
export type HostedServer = Pick<Droplet, 'id' | 'name'> & { region: { slug: string } };
import type { Timing } from './timing';

export interface HostHooks {
  /** The droplet just became active: its host must answer SSH. */
  dropletActive(droplet: HostedServer): void;
  /** The droplet was destroyed: stop its host and remove its filesystem. */
  dropletDestroyed(dropletId: number): void;
  /** The volume was deleted: remove its contents. */
  volumeDestroyed?(volumeId: string): void;
  /** A reserved IP was assigned, unassigned or deleted: route each assigned one to its droplet. */
  reservedIpsChanged?(): void;
  /** A firewall, its rules or what it covers (droplets, tags, devices) changed: enforce them anew. */
  firewallsChanged?(): void;
}

export interface CloudContext {
  store: Store;
  actions: ActionEngine;
  faults: Faults;
  timing: Timing;
  hosts: HostHooks;
  /** Droplet addresses are 127.<hostNetwork>.x.y, so several local clouds on one machine never collide. */
  hostNetwork: number;
  /** The account's droplet limit. */
  dropletLimit: number;
}
