// The rollout's traffic step on the front host: nginx's upstream file rewritten for a split over
// the servers given, `nginx -t`, then a reload confirmed by a new worker (NginxRouter), over one
// SSH connection with the host key pinned. Applying the split already in place changes no file,
// so a retried activity (or a worker killed mid-step) never applies a weight twice.
import { Context, heartbeat } from '@temporalio/activity';
import { connect } from '../../integrations/ssh';
import { NginxConfigRefusedError, NginxRouter } from '../../rollouts/traffic/nginx-router';
import { TrafficWeightsError, type Weights } from '../../rollouts/traffic/router';
import { SshConfigHost } from '../../rollouts/traffic/ssh-config-host';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { toSshFailure, type SshActivityDeps } from '../ssh/host-steps';

export interface NginxWeightsInput {
  /** The front host where nginx runs, with its pinned host key. */
  host: string;
  port: number;
  user: string;
  key: string;
  fingerprints: string[];
  upstream: string;
  /** The upstream file nginx includes (configDir/<upstream>.conf). */
  upstreamFile: string;
  pidFile: string;
  /** address:port of the hosts serving each version; a host in neither is out of rotation. */
  stable: string[];
  canary: string[];
  weights: Weights;
}

export interface NginxWeightsResult {
  /** The split nginx serves now. */
  weights: Weights;
  /** False when that split was already in place (nothing written). */
  changed: boolean;
}

const HEARTBEAT_MS = 2000;

type Deps = { privateKey: SshActivityDeps['privateKey']; readyTimeoutMs?: number };

export function createRolloutActivities(deps: Deps) {
  return {
    async setNginxWeights(input: NginxWeightsInput): Promise<NginxWeightsResult> {
      heartbeat({ weights: input.weights });
      // Alive while it works: the workflow's heartbeat timeout notices a worker that died mid-step
      // within seconds, not at the end of the start-to-close timeout.
      const beating = setInterval(() => heartbeat({ weights: input.weights }), HEARTBEAT_MS);
      try {
        return await applyWeights(deps, input);
      } finally {
        clearInterval(beating);
      }
    },
  };
}

async function applyWeights(deps: Deps, input: NginxWeightsInput): Promise<NginxWeightsResult> {
  let privateKey: string;
  try {
    privateKey = await deps.privateKey(input.key);
  } catch (err) {
    throw failure(STEP_FAILURE.SshKeyUnavailable, `SSH key ${input.key} is not available to this worker: ${(err as Error).message}`);
  }
  let conn;
  try {
    conn = await connect(
      { host: input.host, port: input.port, username: input.user, privateKey, hostKey: { pinned: input.fingerprints } },
      { readyTimeoutMs: deps.readyTimeoutMs ?? 20_000, signal: Context.current().cancellationSignal },
    );
  } catch (err) {
    throw toSshFailure(err);
  }
  try {
    const configHost = new SshConfigHost(conn);
    const before = await configHost.read(input.upstreamFile);
    const router = new NginxRouter({
      host: configHost,
      layout: { upstream: input.upstream, stable: input.stable, canary: input.canary },
      upstreamFile: input.upstreamFile,
      confirmReload: { pidFile: input.pidFile },
    });
    await router.setWeights(input.weights);
    const after = await configHost.read(input.upstreamFile);
    return { weights: input.weights, changed: before !== after };
  } catch (err) {
    // A split nginx refuses or that cannot be drawn will not get better by retrying. A `nginx -t`
    // that fails without a word (seen in the local cloud just after a reload) is not a
    // refusal: the file was put back, and the activity is retried.
    if (err instanceof NginxConfigRefusedError && err.output.trim() === '')
      throw failure(STEP_FAILURE.TrafficRefused, 'nginx -t failed without saying why; the previous file was put back', {
        retryable: true,
      });
    if (err instanceof NginxConfigRefusedError || err instanceof TrafficWeightsError)
      throw failure(STEP_FAILURE.TrafficRefused, err.message);
    throw err;
  } finally {
    conn.close();
  }
}

export type RolloutActivities = ReturnType<typeof createRolloutActivities>;
