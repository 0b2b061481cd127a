// The worker's SSH key in the account, for droplet creation: read on the worker, so history sees
// only the fingerprint. An account key with the same public key is reused, whatever its name.
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { DigitalOceanApiError } from '../../integrations/digitalocean/errors';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { resourcesOf, type DigitalOceanDeps } from './deps';
import { digitalOceanStep } from './failures';

/** `type base64` without the comment: what tells two public keys apart. */
const keyBody = (publicKey: string) => publicKey.trim().split(/\s+/).slice(0, 2).join(' ');

export function sshKeyActivities(deps: DigitalOceanDeps): Pick<CloudProviderActivities, 'ensureSshKey'> {
  const api = resourcesOf(deps);
  return {
    async ensureSshKey(input) {
      if (!deps.sshPublicKey) throw failure(STEP_FAILURE.SshKeyUnavailable, 'this worker has no SSH keys configured (OPSFLOW_SSH_KEYS)');
      let body: string;
      try {
        body = keyBody(deps.sshPublicKey(input.name));
      } catch (err) {
        throw failure(STEP_FAILURE.SshKeyUnavailable, (err as Error).message);
      }
      return digitalOceanStep(async () => {
        const { sshKeys } = api();
        const find = async () => (await sshKeys.list()).find((k) => keyBody(k.public_key) === body);
        const existing = await find();
        if (existing) return { fingerprint: existing.fingerprint };
        try {
          return { fingerprint: (await sshKeys.create({ name: `opsflow-${input.name}`, public_key: body })).fingerprint };
        } catch (err) {
          // Environments provisioned at once race to register the same key: the loser's 422
          // ("already in use") means the key is there now.
          const registered = err instanceof DigitalOceanApiError && err.status === 422 ? await find() : undefined;
          if (registered) return { fingerprint: registered.fingerprint };
          throw err;
        }
      });
    },
  };
}
