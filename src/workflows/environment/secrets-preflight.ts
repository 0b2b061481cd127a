// Before any cloud side effect, the worker checks every secret the spec references and the run
// stops with SecretsMissing naming all it cannot resolve, instead of the deploy step naming the
// first one after the network, firewall and droplets were made. Only names and reasons come back.
import { patched } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { EnvironmentSpec } from '../../specs/environment';
import { REFUSAL, failure } from '../shared/failures';
import { summarizedActivities } from '../shared/summarized-activities';

/** Runs begun before the preflight existed replay without it. */
export const SECRETS_PREFLIGHT_PATCH = 'secrets-preflight';

const secrets = summarizedActivities<Activities>({
  startToCloseTimeout: '1 minute',
  // A lost worker is worth retrying; a missing secret comes back as a result, not an error.
  retry: { maximumAttempts: 3 },
});

export async function checkSpecSecrets(spec: EnvironmentSpec): Promise<void> {
  const references = spec.application?.secrets ?? {};
  if (!patched(SECRETS_PREFLIGHT_PATCH) || Object.keys(references).length === 0) return;
  const { missing } = await secrets.checkSecretReferences({ references });
  if (missing.length === 0) return;
  const lines = missing.map((m) => `${m.name} (${m.ref}): ${m.problem}: ${m.reason}`);
  throw failure(REFUSAL.SecretsMissing, `${missing.length} secret(s) the worker cannot resolve:\n- ${lines.join('\n- ')}`, {
    details: [missing],
  });
}
