// A failure notice to a Slack-compatible incoming webhook: POST {"text": ...} as JSON. The URL is
// itself a secret (whoever has it can post), so messages name only its host.
import { BackupError } from './errors';

export async function postWebhook(url: string, text: string, fetchImpl: typeof fetch = fetch): Promise<{ status: number }> {
  let host = 'the webhook';
  try {
    host = new URL(url).host;
  } catch {
    throw new BackupError('WebhookFailed', 'the webhook reference does not resolve to a URL', false);
  }
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new BackupError(
      'WebhookFailed',
      `webhook at ${host} unreachable: ${(err as Error).cause ? String((err as Error).cause) : (err as Error).message}`,
      true,
    );
  }
  await response.arrayBuffer().catch(() => undefined);
  if (response.ok) return { status: response.status };
  // 429 and 5xx may pass; anything else (404: the hook was removed, 403) will not.
  const retryable = response.status === 429 || response.status >= 500;
  throw new BackupError('WebhookFailed', `webhook at ${host} answered HTTP ${response.status}`, retryable);
}
