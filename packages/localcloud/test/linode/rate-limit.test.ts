// Linode's rate limit: the account budget runs out, the refusal is a 429 with Retry-After and
// Linode's X-RateLimit headers in Linode's error shape, and the provider's activity fails it as
// retryable after the wait the API named.
import { getRegions } from '@linode/api-v4';
import type { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createLinodeProvider } from '../../../../src/activities/linode/provider';
import { refusal, startLinodeCloud } from './linode-cloud';

test('past the budget: 429, Retry-After, X-RateLimit headers, and a retryable activity failure', async () => {
  const cloud = await startLinodeCloud({ sshHosts: false, rateLimit: { perMinute: 3, perHour: 1000 } });
  try {
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${cloud.apiUrl}/v4/regions`, { headers: { Authorization: `Bearer ${cloud.token}` } });
      expect(response.status).toBe(200);
      remaining.push(response.headers.get('x-ratelimit-remaining') ?? '');
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const limited = refusal(await getRegions().catch((e: unknown) => e));
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ errors: [{ reason: 'Too Many Requests' }] });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');

    const seam = createLinodeProvider({ account: () => ({ apiUrl: cloud.apiUrl, token: cloud.token }) });
    const failure = (await new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') })
      .run(seam.listEnvironmentResources, { environment: 'stack-e' })
      .catch((e: unknown) => e)) as ApplicationFailure;
    expect(failure).toMatchObject({ type: 'LinodeRateLimited', nonRetryable: false });
    expect(failure.nextRetryDelay).toBeTruthy();
  } finally {
    await cloud.stop();
  }
});
