// A local cloud for the Linode tests, with the official client (@linode/api-v4) pointed at it the
// way the Linode provider points it (src/integrations/linode/account.ts).
import { getLinode, type Linode } from '@linode/api-v4';
import type { LocalCloud, LocalCloudOptions } from '../../src';
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { until } from '../../../../test/helpers/until';
import { useLinodeAccount } from '../../../../src/integrations/linode/account';

export async function startLinodeCloud(options: Partial<LocalCloudOptions> = {}): Promise<LocalCloud> {
  const { cloud } = await startLocalCloud(options);
  useLinodeAccount({ apiUrl: cloud.apiUrl, token: cloud.token });
  return cloud;
}

/** The instance once its status is `status`, read through the client as a user would poll. */
export function untilStatus(id: number, status: Linode['status']): Promise<Linode> {
  return until(`Linode ${id} ${status}`, async () => {
    const linode = await getLinode(id);
    return linode.status === status ? linode : undefined;
  });
}

/** What the API answered to a refused request (an axios error from the client). */
export function refusal(error: unknown): { status: number | undefined; body: unknown; headers: Record<string, unknown> } {
  const response = (error as { response?: { status: number; data: unknown; headers: Record<string, unknown> } }).response;
  if (!response) throw error;
  return { status: response.status, body: response.data, headers: response.headers };
}
