// How opsflow marks what it creates, so a retried or restarted step finds its own resource instead
// of making a second one, and destroyEnvironment finds everything an environment owns.
//
// Names map to tags one to one. An environment name already is tag-safe (names/environment-name.ts)
// and anything else is refused, never "cleaned up": `stack.a` once became `stack-a`'s tag, and
// destroying it destroyed stack-a. Workflow ids may hold any character, so they are escaped
// reversibly (`_2e_` for `.`; `_` itself only ever starts an escape).
import { environmentNameProblem } from './environment-name';

export interface Owner {
  workflowId: string;
  environment: string;
}

/** DigitalOcean tag names allow letters, digits, colons, dashes and underscores, 255 at most. */
const PLAIN = /^[a-zA-Z0-9:-]$/;
const MAX_TAG_PART = 200;

/** Reversible: every character outside PLAIN (`_` included) becomes `_<hex code point>_`. */
export function escapeTagPart(value: string): string {
  const escaped = [...value].map((c) => (PLAIN.test(c) ? c : `_${c.codePointAt(0)!.toString(16)}_`)).join('');
  if (escaped.length <= MAX_TAG_PART) return escaped;
  // Too long for a tag: a prefix and a 64-bit hash of the whole (FNV-1a), still one tag per id in practice.
  return `${escaped.slice(0, MAX_TAG_PART - 18)}_${fnv1a64(value)}`;
}

function fnv1a64(value: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < value.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(value.charCodeAt(i))) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

export const workflowTag = (owner: Owner) => `opsflow:${escapeTagPart(owner.workflowId)}`;

export function environmentTag(environment: string): string {
  const problem = environmentNameProblem(environment);
  if (problem) throw new Error(`no tag for ${problem}`);
  return `opsflow-env:${environment}`;
}

export const ownerTags = (owner: Owner) => [workflowTag(owner), environmentTag(owner.environment)];

/** For resources without tags (VPCs), the same mark goes in the description. */
export const ownerDescription = (owner: Owner) => `managed by opsflow; ${workflowTag(owner)} ${environmentTag(owner.environment)}`;
