// The names opsflow gives cloud resources, built here and nowhere else: provisioning creates them,
// backups find droplets and volumes to snapshot by them, destroy and tests look for them. Pure
// functions, so workflows may import them.

/** A droplet, volume or other per-environment resource: `<environment>-<name>` (`stack-a-app`, `stack-a-pgdata`). */
export const resourceName = (environment: string, name: string) => `${environment}-${name}`;

/** The environment's private network. */
export const networkName = (environment: string) => resourceName(environment, 'vpc');

/** The environment's firewall. */
export const firewallName = (environment: string) => resourceName(environment, 'fw');

/** A server (droplet) by its instance name from the spec (`app`, `web-2`). */
export const serverName = (environment: string, instance: string) => resourceName(environment, instance);

/** A block-storage volume by its name in the spec. */
export const volumeName = (environment: string, volume: string) => resourceName(environment, volume);
