// A rollout's notification: one message to the spec's Slack-compatible webhook (POST {"text"}),
// sent when a pause waiting for a human escalates. The URL is itself a secret (whoever has it can
// post), so it is given as a reference and resolved here, on the worker: it never enters the
// workflow's history, and the result names only its host.
import { postWebhook } from '../../backups/webhook';
import { BackupError } from '../../backups/errors';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';

export interface RolloutNoticeInput {
  /** The webhook URL's secret reference (env:NAME or file:/path), as the spec gives it. */
  webhook: string;
  text: string;
}

export interface RolloutNoticeResult {
  /** The webhook's host (never the URL, which is the secret). */
  host: string;
  status: number;
}

export interface RolloutNoticeDeps {
  resolveSecret?: (ref: string) => string | Promise<string>;
  fetch?: typeof fetch;
}

export function createRolloutNoticeActivities(deps: RolloutNoticeDeps) {
  return {
    async postRolloutNotice(input: RolloutNoticeInput): Promise<RolloutNoticeResult> {
      if (!deps.resolveSecret)
        throw failure(STEP_FAILURE.SecretUnavailable, `this worker resolves no secrets, so ${input.webhook} cannot be read`);
      let url: string;
      try {
        url = await deps.resolveSecret(input.webhook);
      } catch (err) {
        throw failure(STEP_FAILURE.SecretUnavailable, `the webhook reference ${input.webhook} did not resolve: ${(err as Error).message}`);
      }
      if (!/^https?:\/\//.test(url))
        throw failure(STEP_FAILURE.WebhookFailed, `the webhook reference ${input.webhook} does not hold an http(s) URL`);
      try {
        const { status } = await postWebhook(url, input.text, deps.fetch);
        return { host: new URL(url).host, status };
      } catch (err) {
        if (err instanceof BackupError) throw failure(STEP_FAILURE.WebhookFailed, err.message, { retryable: err.retryable });
        throw err;
      }
    },
  };
}
