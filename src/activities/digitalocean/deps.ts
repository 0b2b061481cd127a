// What the DigitalOcean activities are built from: the account's client (a function, so the worker
// can pick the local cloud or a real account per call), poll intervals and the worker's SSH keys.
import { ApplicationFailure } from '@temporalio/activity';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import type { DigitalOceanClient } from '../../integrations/digitalocean/client';
import { digitalOceanResources, type DigitalOceanResources } from '../../integrations/digitalocean/resources';
import type { PollIntervals } from './wait';

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

/** The typed API of the account the deps name, resolved at each call. */
export const resourcesOf =
  (deps: DigitalOceanDeps): (() => DigitalOceanResources) =>
  () =>
    digitalOceanResources(deps.digitalOcean());

export const DEFAULT_POLL: PollIntervals = { first: 1000, max: 10_000 };

export function conflict(what: string): ApplicationFailure {
  return failure(STEP_FAILURE.ResourceConflict, `${what} already exists and is not managed by this opsflow run; rename it or remove it`);
}
