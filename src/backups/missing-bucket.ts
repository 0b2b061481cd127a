// A backup to a bucket that does not exist used to fail as a bare S3 "NoSuchBucket". Said here once,
// for the backup steps and for `opsflow spaces create`: which bucket, where, and how to create it.

/** True for the S3 error of a missing bucket, also when another error wraps it. */
export function isMissingBucket(err: unknown): boolean {
  for (let e = err as { name?: string; Code?: string; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    if (e.name === 'NoSuchBucket' || e.Code === 'NoSuchBucket') return true;
    e = e.cause as typeof e;
  }
  return false;
}

export function missingBucketMessage(bucket: string, endpoint: string): string {
  return `bucket ${bucket} does not exist at ${endpoint}: opsflow does not create buckets by itself; create it with \`npx opsflow spaces create --policy <this policy's file>\` (or \`npx opsflow spaces create ${bucket} --endpoint ${endpoint}\`, or in the DigitalOcean control panel), then run the backup again`;
}
