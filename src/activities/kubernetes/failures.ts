// How Kubernetes failures leave an activity: ApplicationFailures of the types in
// workflows/shared/failures.ts, non-retryable when the API server refused (a resend gets the same
// answer), retryable when it was busy or did not answer. Details carry the object and the fields,
// never the kubeconfig. A DigitalOcean failure fetching the kubeconfig keeps its own type.
import { Context, heartbeat } from '@temporalio/activity';
import { toActivityFailure as digitalOceanFailure } from '../digitalocean/failures';
import { KubeconfigProblem, KubernetesRequestError } from '../../integrations/kubernetes/errors';
import { ManifestProblem } from '../../integrations/kubernetes/manifests';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';

export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ManifestProblem) return failure(STEP_FAILURE.InvalidManifest, err.message);
  if (err instanceof KubeconfigProblem) return failure(STEP_FAILURE.KubeconfigRefused, err.message);
  if (!(err instanceof KubernetesRequestError)) return digitalOceanFailure(err);
  const details = [{ object: err.object ?? null, fields: err.fields, status: err.status, reason: err.apiStatus.reason ?? null }];
  if (err.retryable) return failure(STEP_FAILURE.KubernetesUnavailable, err.message, { details, retryable: true });
  if (err.notFound) return failure(STEP_FAILURE.KubernetesNotFound, err.message, { details });
  if (err.status === 409 && err.apiStatus.reason === 'Conflict' && /conflict/i.test(err.apiStatus.message ?? ''))
    return failure(STEP_FAILURE.KubernetesFieldConflict, err.message, { details });
  return failure(STEP_FAILURE.KubernetesRejected, err.message, { details });
}

/**
 * Runs an activity body, turning what it threw into a typed failure. It heartbeats every 5 s while
 * it runs (with the last progress reported through `progress`), so a dead worker is noticed within
 * the heartbeat timeout however long the cluster takes.
 */
export async function kubernetesStep<T>(body: (progress: (details: Record<string, unknown>) => void) => Promise<T>): Promise<T> {
  let last: Record<string, unknown> | undefined;
  const progress = (details: Record<string, unknown>) => {
    last = details;
    heartbeat(details);
  };
  const keepAlive = setInterval(() => heartbeat(last), 5000);
  try {
    return await body(progress);
  } catch (err) {
    throw toActivityFailure(err);
  } finally {
    clearInterval(keepAlive);
  }
}

/** A pause that the activity's cancellation ends (with CancelledFailure). */
export const pause = (ms: number) => Context.current().sleep(ms);
