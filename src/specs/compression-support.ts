// Whether a backup policy's compression can run, asked when the policy is applied: zstd used to
// pass `schedules apply --dry-run` and fail at the first scheduled run. Not part of the schema
// (workflows parse policies too, and must not depend on the Node version they replay on).
import * as zlib from 'node:zlib';

/** Node versions whose zlib has zstd (createZstdCompress): 23.8 and 22.15 onwards. */
export const ZSTD_NODE = '22.15 or 23.8';

/**
 * Why `compression` cannot be used, or undefined. zstd is refused on every Node today: where the
 * running Node lacks it that is the reason given; where it has it, the backup steps still write
 * only gzip or none (src/activities/backups/backup-steps.ts refuses zstd at run time).
 */
export function compressionProblem(
  compression: string,
  runtime: { node: string; zlib: object } = { node: process.versions.node, zlib },
): string | undefined {
  if (compression !== 'zstd') return undefined;
  if (!('createZstdCompress' in runtime.zlib))
    return `zstd needs Node ${ZSTD_NODE} or later (zlib's zstd), and this is Node ${runtime.node}; use gzip or none`;
  return 'zstd is not written by the backup steps yet (they write gzip or none), although this Node has it; use gzip or none';
}
