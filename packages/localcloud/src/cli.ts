// `opsflow localcloud start | status | faults | reset`: a program of its own, which the product's
// CLI runs (loading this package only then) with the arguments after `localcloud`.
import { Command } from 'commander';
import { LocalCloud } from './local-cloud';
import { controlCall, ensurePrivateDir, readEndpoint, removeEndpoint, writeEndpoint, type LocalCloudEndpoint } from './endpoint';
import { startLocalSpaces } from './spaces/local-spaces';
import { FAST_TIMING, REALISTIC_TIMING } from './timing';

export const DEFAULT_LOCALCLOUD_PORT = 7300;

export interface LocalCloudCommandOptions {
  /** The local cloud's folder (its token, keys, droplets, endpoint.json); made private on start. */
  dir: string;
  parsePort: (value: string) => number;
}

function running(dir: string): LocalCloudEndpoint {
  const endpoint = readEndpoint(dir);
  if (!endpoint) throw new Error('no local cloud is running: start it with `opsflow localcloud start` (or `npm start`)');
  return endpoint;
}

function parsePositive(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${option} must be a whole number of at least 1, not ${value}`);
  return n;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function localCloudCommand({ dir, parsePort }: LocalCloudCommandOptions): Command {
  const localcloud = new Command('opsflow localcloud').description('the local DigitalOcean-compatible cloud');

  localcloud
    .command('start')
    .description('run the local cloud in the foreground; prints its API URL, where its token is, and its Spaces endpoint')
    .option('--port <port>', 'API port (Spaces listens on the next one)', parsePort, DEFAULT_LOCALCLOUD_PORT)
    .option('--ssh-port <port>', "port the droplets' SSH daemons listen on (default 22, or 2222 when 22 cannot be bound)", parsePort)
    .option('--droplet-limit <n>', "the account's droplet limit (DigitalOcean's default for a new account: 25)", (v) =>
      parsePositive(v, '--droplet-limit'),
    )
    .option('--rate-limit <perMinute>', 'API requests allowed a minute (DigitalOcean: 250; the hourly budget is 20 times it)', (v) =>
      parsePositive(v, '--rate-limit'),
    )
    .option('--no-spaces', 'run without Spaces (the S3 server)')
    .option('--realistic', 'droplets and actions take as long as on DigitalOcean (default: fast)')
    .action(
      async (opts: { port: number; sshPort?: number; dropletLimit?: number; rateLimit?: number; spaces: boolean; realistic?: boolean }) => {
        const existing = readEndpoint(dir);
        if (existing) throw new Error(`a local cloud is already running: ${existing.apiUrl}`);
        // Its token and keys live here: the user's alone, however the folder was made before.
        const stateDir = ensurePrivateDir(dir);
        const cloud = await LocalCloud.start({
          stateDir,
          port: opts.port,
          timing: opts.realistic ? REALISTIC_TIMING : FAST_TIMING,
          sshHosts: { sshPort: opts.sshPort },
          dropletLimit: opts.dropletLimit,
          rateLimit: opts.rateLimit ? { perMinute: opts.rateLimit, perHour: opts.rateLimit * 20 } : undefined,
          hostNetwork: givenHostNetwork(process.env.OPSFLOW_LOCALCLOUD_HOST_NETWORK),
        });
        const spaces = opts.spaces ? await startLocalSpaces(stateDir, '127.0.0.1', opts.port + 1) : undefined;
        // Droplets reach Spaces as real ones do; the machine's other ports on 127.0.0.1 stay closed to them.
        if (spaces)
          await cloud.hosts?.allowMachinePort(Number(new URL(spaces.server.endpoint).port), new URL(spaces.server.endpoint).hostname);
        const spacesInfo = spaces && { endpoint: spaces.server.endpoint, region: spaces.server.region, ...spaces.keys };
        writeEndpoint(dir, {
          apiUrl: cloud.apiUrl,
          token: cloud.token,
          controlToken: cloud.controlToken,
          pid: process.pid,
          spaces: spacesInfo,
          hostNetwork: { network: cloud.hostNetworkChoice.network, how: cloud.hostNetworkChoice.how },
        });
        console.log(`Local cloud API: ${cloud.apiUrl}`);
        // Only where the token is: this output often ends up in a log file (`opsflow up` keeps one).
        console.log(`Token:           in ${stateDir}/token (0600)`);
        if (spacesInfo) {
          console.log(`Spaces (S3):     ${spacesInfo.endpoint} (region ${spacesInfo.region})`);
          console.log(`Spaces keys:     access key ${spacesInfo.accessKey}; secret key in ${stateDir}/spaces-keys.json`);
        }
        console.log(`Host network:    ${describeHostNetwork(cloud.hostNetworkChoice)}`);
        console.log(`Droplet SSH:     port ${opts.sshPort ?? 22} on each droplet's 127.x address, keys as given at creation`);
        console.log(`Control token:   in ${stateDir}/control-token (new at every start; for /_localcloud)`);
        console.log(`State:           ${stateDir}`);
        console.log(`Use it:          DIGITALOCEAN_API_URL=${cloud.apiUrl} DIGITALOCEAN_TOKEN=$(cat ${stateDir}/token)`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await cloud.stop();
        await spaces?.server.stop();
        removeEndpoint(dir);
        console.log('Local cloud stopped.');
      },
    );

  localcloud
    .command('status')
    .description('where the local cloud runs and everything it holds')
    .action(async () => {
      const endpoint = running(dir);
      console.log(`Local cloud API: ${endpoint.apiUrl} (pid ${endpoint.pid})`);
      if (endpoint.spaces) console.log(`Spaces (S3):     ${endpoint.spaces.endpoint} (access key ${endpoint.spaces.accessKey})`);
      console.log(JSON.stringify(await controlCall(endpoint, 'GET', 'inventory'), null, 2));
    });

  localcloud
    .command('reset')
    .description('delete every resource, fault and rate-limit count')
    .action(async () => {
      await controlCall(running(dir), 'POST', 'reset');
      console.log('Local cloud emptied.');
    });

  localcloud
    .command('faults')
    .description('set faults (replacing the current ones); with no option, show them')
    .option('--seed <n>', 'seed for the fault sequence, so a failing run repeats', Number)
    .option('--path <prefix>', 'API path prefix the error rate and latency apply to', '/v2/')
    .option('--method <method>', 'only this HTTP method')
    .option('--error-rate <fraction>', 'share of calls that fail, 0 to 1', Number)
    .option('--status <codes>', 'statuses to fail with: 429, 500, 502, 503', '500,503')
    .option('--latency <ms>', 'added latency per call', Number)
    .option('--fail-next <type=count,...>', 'make the next N actions of a type fail, e.g. create=1,attach_volume=2')
    .option('--hold-actions <types>', 'actions of these types stay in-progress until faults are set without them, e.g. power_off')
    .option('--dark-region <slugs>', 'regions whose droplets and API calls fail, e.g. fra1')
    .option('--refuse-ssh <droplets>', 'droplets (ids or names) whose hosts refuse SSH')
    .option('--clear', 'remove every fault')
    .action(async (opts: Record<string, string | number | boolean | undefined>) => {
      const endpoint = running(dir);
      const setting = ['errorRate', 'latency', 'failNext', 'holdActions', 'darkRegion', 'refuseSsh', 'clear', 'seed'].some(
        (k) => opts[k] !== undefined,
      );
      if (!setting) {
        console.log(JSON.stringify(await controlCall(endpoint, 'GET', 'faults'), null, 2));
        return;
      }
      const config = opts.clear
        ? {}
        : {
            seed: opts.seed,
            rules:
              opts.errorRate !== undefined || opts.latency !== undefined
                ? [
                    {
                      path: opts.path,
                      method: opts.method,
                      errorRate: opts.errorRate ?? 0,
                      latencyMs: opts.latency ?? 0,
                      statuses: list(String(opts.status)).map(Number),
                    },
                  ]
                : [],
            failNextActions: Object.fromEntries(
              list(String(opts.failNext ?? '')).map((pair) => {
                const [type, count] = pair.split('=');
                return [type, Number(count ?? 1)];
              }),
            ),
            holdActions: list(String(opts.holdActions ?? '')),
            darkRegions: list(String(opts.darkRegion ?? '')),
            refuseSsh: list(String(opts.refuseSsh ?? '')).map((v) => (/^\d+$/.test(v) ? Number(v) : v)),
          };
      console.log(JSON.stringify(await controlCall(endpoint, 'PUT', 'faults', config), null, 2));
    });
  return localcloud;
}

/** OPSFLOW_LOCALCLOUD_HOST_NETWORK, checked: unset or empty means "choose" (claimHostNetwork). */
function givenHostNetwork(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (!/^\d+$/.test(value.trim())) throw new Error(`OPSFLOW_LOCALCLOUD_HOST_NETWORK: "${value}" is not a whole number from 1 to 254`);
  return Number(value.trim());
}

/** One line: the droplets' addresses and why this network (`opsflow up` says the same). */
export function describeHostNetwork(choice: { network: number; how: string; file?: string }): string {
  const why = {
    given: 'set by OPSFLOW_LOCALCLOUD_HOST_NETWORK',
    remembered: 'the one this state folder remembers',
    default: 'the default',
    'next free': 'the default, 100, is held by another local cloud',
  }[choice.how];
  return `${choice.network}: droplets get 127.${choice.network}.x.y (${why ?? choice.how})${choice.file ? `; kept for restarts in ${choice.file}` : ''}`;
}
