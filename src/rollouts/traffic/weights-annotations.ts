// The split opsflow keeps on the Kubernetes object it weights (an HTTPRoute, a canary Ingress): the
// split in place and the one before its last change, for rollback, as the nginx router keeps
// `.previous` beside its file.
import type { Weights } from './router';

export const WEIGHTS_ANNOTATION = 'opsflow.dev/weights';
export const PREVIOUS_WEIGHTS_ANNOTATION = 'opsflow.dev/previous-weights';

export const formatWeights = (w: Weights) => `stable=${w.stable},canary=${w.canary}`;

export function parseWeights(text: string | undefined): Weights | undefined {
  const match = /^stable=(\d+),canary=(\d+)$/.exec(text ?? '');
  return match ? { stable: Number(match[1]), canary: Number(match[2]) } : undefined;
}

/** The annotations of a change from `current` to `next`. */
export function weightAnnotations(next: Weights, current: Weights): Record<string, string> {
  return { [WEIGHTS_ANNOTATION]: formatWeights(next), [PREVIOUS_WEIGHTS_ANNOTATION]: formatWeights(current) };
}
