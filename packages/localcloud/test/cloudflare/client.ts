// A test's Cloudflare: a local cloud (API only, no droplet hosts) and the official library
// pointed at its /client/v4, plus a helper that catches a call's Cloudflare error.
import Cloudflare, { APIError } from 'cloudflare';
import type { LocalCloud } from '../../src';
import { startLocalCloud } from '../../../../test/helpers/localcloud';

export interface TestCloudflare {
  cloud: LocalCloud;
  cf: Cloudflare;
  accountId: string;
}

export function cloudflareClient(cloud: LocalCloud, apiToken = cloud.token): Cloudflare {
  // No retries: a test sees every answer the emulator gives, not the library's second try.
  return new Cloudflare({ apiToken, baseURL: `${cloud.apiUrl}/client/v4`, maxRetries: 0 });
}

export async function startCloudflare(): Promise<TestCloudflare> {
  const { cloud } = await startLocalCloud({ sshHosts: false });
  const cf = cloudflareClient(cloud);
  const accounts = await cf.accounts.list();
  const [account] = accounts.result;
  if (!account) throw new Error('the local cloud lists no Cloudflare account');
  return { cloud, cf, accountId: account.id };
}

/** The error a call failed with, as the library reports it (status and Cloudflare's errors). */
export async function failureOf(
  call: Promise<unknown>,
): Promise<{ status: number | undefined; errors: { code: number; message: string }[] }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof APIError) return { status: error.status, errors: error.errors as { code: number; message: string }[] };
    throw error;
  }
  throw new Error('the call succeeded but was expected to fail');
}
