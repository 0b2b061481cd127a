// `opsflow spaces create`: makes the bucket a backup policy writes to, with the user's say-so rather
// than by a backup run. The bucket, endpoint, region and keys come from a policy file's destination,
// or from options; without an endpoint, the running local cloud's Spaces (its endpoint file) is used.
// Keys are secret references (env:NAME, file:/path) resolved here, under the worker's rules.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { secretResolver } from '../backups/secrets';
import { spacesClient, type SpacesAccess } from '../backups/spaces';
import { localCloudDir } from '../devstack/localcloud-loading';
import { bucketName, type BackupPolicy } from '../specs/backup-policy';
import { secretRef } from '../specs/common';
import { endpointProblem } from '../specs/endpoint-url';
import { loadBackupPolicies } from '../specs/load';

export interface SpacesCreateOptions {
  policy?: string;
  endpoint?: string;
  region?: string;
  accessKey?: string;
  secretKey?: string;
}

export interface BucketPlace {
  bucket: string;
  endpoint: string;
  /** Where the endpoint came from, said in the output. */
  endpointFrom: string;
  region: string;
  keys: { accessKeyId: string; secretAccessKey: string };
}

interface LocalSpaces {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

/** The running local cloud's Spaces, from the endpoint file it writes (not its package: the CLI never loads it). */
function localCloudSpaces(env: NodeJS.ProcessEnv): LocalSpaces | undefined {
  try {
    const endpoint = JSON.parse(readFileSync(path.join(localCloudDir(env), 'endpoint.json'), 'utf8')) as {
      pid?: number;
      spaces?: LocalSpaces;
    };
    if (!endpoint.spaces || typeof endpoint.pid !== 'number') return undefined;
    process.kill(endpoint.pid, 0); // a file left by a cloud that is gone does not count
    return endpoint.spaces;
  } catch {
    return undefined;
  }
}

function refused(problem: string): Error {
  return new Error(`spaces create: ${problem}`);
}

/** Which bucket, where, with which keys: every problem said before any request. */
export async function bucketPlace(
  bucketArg: string | undefined,
  opts: SpacesCreateOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BucketPlace> {
  let destination: Partial<BackupPolicy['destination']> = {};
  if (opts.policy) {
    const { policies } = loadBackupPolicies(opts.policy); // a bad policy file is refused with its own messages
    const buckets = [...new Set(policies.map((p) => p.destination.bucket))];
    const chosen = bucketArg ?? (buckets.length === 1 ? buckets[0] : undefined);
    if (!chosen) throw refused(`${opts.policy} writes to ${buckets.join(', ')}: say which bucket`);
    const policy = policies.find((p) => p.destination.bucket === chosen);
    if (!policy) throw refused(`no policy in ${opts.policy} writes to bucket ${chosen} (it names ${buckets.join(', ')})`);
    destination = policy.destination;
  }
  const bucket = bucketArg ?? destination.bucket;
  if (!bucket) throw refused('name the bucket (`opsflow spaces create <bucket>`) or give --policy <file>');
  const name = bucketName.safeParse(bucket);
  if (!name.success) throw refused(`bucket "${bucket}": ${name.error.issues[0]?.message ?? 'not a bucket name'}`);

  const local = localCloudSpaces(env);
  const [endpoint, endpointFrom] = opts.endpoint
    ? [opts.endpoint, '--endpoint']
    : destination.endpoint
      ? [destination.endpoint, `${opts.policy}'s destination.endpoint`]
      : env.SPACES_ENDPOINT
        ? [env.SPACES_ENDPOINT, 'SPACES_ENDPOINT']
        : local
          ? [local.endpoint, 'the running local cloud']
          : [undefined, ''];
  if (!endpoint)
    throw refused(
      'no Spaces endpoint: give --endpoint (such as https://fra1.digitaloceanspaces.com), a policy with destination.endpoint, or SPACES_ENDPOINT; or start the local cloud (npm start)',
    );
  const problem = endpointProblem(endpoint);
  if (problem) throw refused(`endpoint ${endpoint}: ${problem}`);

  const accessRef = opts.accessKey ?? destination.accessKey;
  const secretRefValue = opts.secretKey ?? destination.secretKey;
  const region = opts.region ?? destination.region ?? (local && endpoint === local.endpoint ? local.region : 'us-east-1');
  if (accessRef === undefined && secretRefValue === undefined && local && endpoint === local.endpoint)
    return { bucket, endpoint, endpointFrom, region, keys: { accessKeyId: local.accessKey, secretAccessKey: local.secretKey } };
  if (accessRef === undefined || secretRefValue === undefined)
    throw refused('give the keys as secret references: --access-key env:NAME --secret-key env:NAME (or file:/path), or --policy <file>');
  for (const [option, ref] of [
    ['--access-key', accessRef],
    ['--secret-key', secretRefValue],
  ] as const) {
    const parsed = secretRef.safeParse(ref);
    if (!parsed.success) throw refused(`${option}: ${parsed.error.issues[0]?.message ?? 'must be a secret reference'}`);
  }
  const resolve = secretResolver(env);
  const [accessKeyId, secretAccessKey] = await Promise.all([resolve(accessRef), resolve(secretRefValue)]).catch((err: unknown) => {
    throw refused((err as Error).message);
  });
  return { bucket, endpoint, endpointFrom, region, keys: { accessKeyId, secretAccessKey } };
}

/** Creates the bucket; one that these keys already own is fine. Another account's name is refused. */
export async function createBucket(
  place: BucketPlace,
  client: (a: SpacesAccess) => S3Client = spacesClient,
): Promise<'created' | 'exists'> {
  const s3 = client({ endpoint: place.endpoint, region: place.region, ...place.keys });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: place.bucket }));
    // Confirmed by asking for it, not by trusting the answer to the create.
    await s3.send(new HeadBucketCommand({ Bucket: place.bucket }));
    return 'created';
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'BucketAlreadyOwnedByYou') return 'exists';
    if (name === 'BucketAlreadyExists')
      throw refused(
        `bucket ${place.bucket} at ${place.endpoint} belongs to another account (names are shared by every user of a region): choose another`,
      );
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    throw refused(
      `could not create bucket ${place.bucket} at ${place.endpoint}: ${name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${(err as Error).message}`,
    );
  } finally {
    s3.destroy();
  }
}
