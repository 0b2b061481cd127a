// Waiting for DigitalOcean: a heartbeating poll with backoff that rides out transient errors, and
// waiting for an action. Shared by every DigitalOcean activity that has to wait for the cloud.
import { Context } from '@temporalio/activity';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import type { DigitalOceanResources } from '../../integrations/digitalocean/resources';
import { DigitalOceanApiError } from '../../integrations/digitalocean/errors';
import { heartbeatWith } from './failures';

/** Poll intervals while waiting for the cloud: first wait, and the longest. */
export interface PollIntervals {
  first: number;
  max: number;
}

/** Consecutive transient errors a wait rides out before it fails its attempt. */
const MAX_TRANSIENT_POLL_ERRORS = 6;
/** Longest a wait pauses for the rate limit's reset (DigitalOcean's window is a minute). */
const MAX_RATE_LIMIT_PAUSE_MS = 60_000;

function isTransient(err: unknown): boolean {
  return err instanceof DigitalOceanApiError && (err.kind === 'server' || err.kind === 'rate_limited' || err.kind === 'network');
}

export function cloudWaits(poll: PollIntervals) {
  /**
   * Heartbeating wait with backoff; cancellation of the activity ends it. With `pauseFirst` it
   * waits before the first check too: what was started a moment ago (an action, a new droplet) is
   * never done yet, and a check that cannot succeed still spends the account's 250 requests a minute.
   * With `throughCancellation` a cancellation does not end it (see waitForAction).
   */
  async function waitUntil<T>(
    what: string,
    check: () => Promise<T | undefined>,
    options: { pauseFirst?: boolean; throughCancellation?: boolean } = {},
  ): Promise<T> {
    const sleep = (ms: number) =>
      options.throughCancellation ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Context.current().sleep(ms);
    let delay = poll.first;
    if (options.pauseFirst) {
      heartbeatWith({ waitingFor: what, attempt: 0 });
      await sleep(delay);
      delay = Math.min(poll.max, delay * 2);
    }
    let transientInARow = 0;
    for (let attempt = 1; ; attempt++) {
      let done: T | undefined;
      // After a 429 the next poll waits for the account's budget to refill (the API says when):
      // polling sooner only spends requests other steps need. digitalOceanStep heartbeats meanwhile.
      let pause = delay;
      try {
        done = await check();
        transientInARow = 0;
      } catch (err) {
        // A poll is a read: a 5xx, a 429 or a lost connection means "ask again later", not a failed
        // step. Failing the attempt would restart the whole wait (and its requests) from scratch.
        if (!isTransient(err) || ++transientInARow > MAX_TRANSIENT_POLL_ERRORS) throw err;
        pause = Math.max(delay, Math.min((err as DigitalOceanApiError).retryAfterMs ?? 0, MAX_RATE_LIMIT_PAUSE_MS));
      }
      if (done !== undefined) return done;
      heartbeatWith({ waitingFor: what, attempt, ...(transientInARow > 0 ? { transientErrors: transientInARow } : {}) });
      await sleep(pause);
      delay = Math.min(poll.max, delay * 2);
    }
  }

  /**
   * Waits for an action this attempt has just started, through a cancellation too: the action
   * cannot be called back, and the step must report what it made (an attached volume, an assigned
   * IP, a snapshot) for the workflow to know of it.
   */
  async function waitForAction(api: DigitalOceanResources, actionId: number, what: string): Promise<void> {
    await waitUntil(
      `${what} (action ${actionId})`,
      async () => {
        const action = await api.actions.get(actionId);
        if (action.status === 'errored')
          throw failure(STEP_FAILURE.DigitalOceanActionErrored, `${what}: DigitalOcean action ${actionId} (${action.type}) errored`, {
            retryable: true,
          });
        return action.status === 'completed' ? true : undefined;
      },
      { pauseFirst: true, throughCancellation: true },
    );
  }

  return { waitUntil, waitForAction };
}
