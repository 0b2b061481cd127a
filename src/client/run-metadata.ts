// What a run started by the opsflow CLI carries for the Web UI besides its input: a memo
// (environment, operation, the input's digest, the spec file, who started it, opsflow's version),
// the same in its static details (shown under the summary on the run's page), and the search
// attributes its run list is filtered and shown by. Names and digests only: no value of the input.
import { createHash } from 'node:crypto';
import os from 'node:os';
import type { SearchAttributePair } from '@temporalio/common';
import { OPSFLOW_VERSION } from '../version';
import { OpsEnvironment, OpsOperation, OpsRequestedBy } from '../temporal/search-attributes';

export interface RunOrigin {
  environment: string;
  /** As the workflow records it in OpsOperation: provision, deploy, destroy, backup-restore, ... */
  operation: string;
  /** The spec file the input was read from, as given on the command line. */
  specFile?: string;
}

export interface RunMetadata {
  memo: Record<string, unknown>;
  staticDetails: string;
  typedSearchAttributes: SearchAttributePair[];
}

/** Who starts a run: OPSFLOW_REQUESTED_BY (a CI job, a ticket), else `user@host`. */
export function requestedBy(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.OPSFLOW_REQUESTED_BY?.trim();
  if (given) return given.slice(0, 100);
  let user = env.USER ?? 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers): the environment's USER stands in.
  }
  return `${user}@${os.hostname()}`;
}

/** sha256 of the workflow input as sent (the spec with its compose file inlined), first 16 hex digits. */
export function inputDigest(input: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(input ?? null))
    .digest('hex')
    .slice(0, 16);
}

export function runMetadata(origin: RunOrigin, input: unknown, by: string): RunMetadata {
  const digest = inputDigest(input);
  const memo = {
    environment: origin.environment,
    operation: origin.operation,
    ...(origin.specFile ? { specFile: origin.specFile } : {}),
    inputSha256: digest,
    requestedBy: by,
    opsflowVersion: OPSFLOW_VERSION,
  };
  const staticDetails = [
    `**${origin.operation}** of environment **${origin.environment}**`,
    origin.specFile ? `spec ${origin.specFile}, input sha256 ${digest}` : `input sha256 ${digest}`,
    `requested by ${by} with opsflow ${OPSFLOW_VERSION}`,
  ].join('\n\n');
  return {
    memo,
    staticDetails,
    typedSearchAttributes: [
      { key: OpsEnvironment, value: origin.environment },
      { key: OpsOperation, value: origin.operation },
      { key: OpsRequestedBy, value: by },
    ],
  };
}
