// What the chaos tests beyond provisioning share: a Temporal dev server, a local cloud with fast
// timing and droplet hosts, a deploy key on disk, and the production worker (dist/worker.js) as a
// process the test kills and starts again.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { type LocalCloud, type LocalCloudOptions, generateEd25519 } from '@opsflow/localcloud';
import { loadEnvironmentSpec } from '../../src/specs/load';
import type { EnvironmentSpec } from '../../src/specs/environment';
import { startLocalCloud } from './localcloud';
import { startProductionWorker } from './production-worker';
import { localCloudControl } from './provision-harness';
import { tempDir } from './temp';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const CHAOS_SECRET = 'chaos-horse-battery';

/** Stack A as in examples/, named `name`, with a quick health gate (a probe a second, three failures in a row). */
export function stackA(name: string, ipRange: string): EnvironmentSpec {
  const s = loadEnvironmentSpec(path.join(__dirname, '..', '..', 'examples', 'stack-a.yaml'));
  return { ...s, name, vpc: { ipRange }, healthChecks: s.healthChecks.map((c) => ({ ...c, intervalSeconds: 1, attempts: 3 })) };
}

/**
 * The worker environment that hands out stack A's database password: the variable its spec
 * references, and that variable allowed (OPSFLOW_SECRET_ENV), whatever the example names it.
 */
export function stackASecretEnv(secret: string): NodeJS.ProcessEnv {
  const ref = stackA('any', '10.0.0.0/16').application?.secrets.POSTGRES_PASSWORD ?? '';
  if (!ref.startsWith('env:')) throw new Error(`stack A's POSTGRES_PASSWORD is ${ref}, not an env: reference`);
  return { [ref.slice(4)]: secret, OPSFLOW_SECRET_ENV: ref.slice(4) };
}

export interface ChaosCloud {
  cloud: LocalCloud;
  stateDir: string;
  deployKey: string;
  /** The production worker against `temporalAddress` and this cloud, with `extraEnv` on top. */
  startWorker(temporalAddress: string, extraEnv?: NodeJS.ProcessEnv): Promise<ChildProcess>;
  control(method: string, what: string, body?: unknown): Promise<Body>;
  /** Stops the local cloud and starts it again from its state folder, on the same port and addresses. */
  restart(): Promise<void>;
}

export async function startChaosCloud(options: Partial<LocalCloudOptions> = {}): Promise<ChaosCloud> {
  const cloudOptions = {
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
    timing: { dropletCreateMs: 1200, actionMs: 300 },
    ...options,
  };
  const { cloud, stateDir } = await startLocalCloud(cloudOptions);
  const deployKey = generateEd25519().private;
  const keyFile = path.join(tempDir('chaos-keys'), 'deploy');
  writeFileSync(keyFile, deployKey, { mode: 0o600 });
  const chaos: ChaosCloud = {
    cloud,
    stateDir,
    deployKey,
    startWorker: (temporalAddress, extraEnv = {}) =>
      startProductionWorker({
        temporalAddress,
        env: {
          OPSFLOW_SSH_KEYS: `deploy=${keyFile}`,
          ...stackASecretEnv(CHAOS_SECRET),
          DIGITALOCEAN_TOKEN: chaos.cloud.token,
          DIGITALOCEAN_API_URL: chaos.cloud.apiUrl,
          ...extraEnv,
        },
      }),
    control: (method, what, body) => localCloudControl(chaos.cloud, method, what, body),
    async restart() {
      const port = Number(new URL(chaos.cloud.apiUrl).port);
      const hostNetwork = chaos.cloud.ctx.hostNetwork;
      await chaos.cloud.stop();
      chaos.cloud = (await startLocalCloud({ ...cloudOptions, stateDir, port, hostNetwork })).cloud;
    },
  };
  return chaos;
}

export { until } from './until';
