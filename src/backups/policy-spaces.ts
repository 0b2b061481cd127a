// A policy's Spaces destination, opened for one step: the endpoint (the policy's, else the worker's
// SPACES_ENDPOINT), refused over plain http to anything but this machine, the keys resolved from
// their references on the worker, and a missing bucket said once with how to create it. Database
// and cluster backup steps share it.
import type { S3Client } from '@aws-sdk/client-s3';
import type { BackupPolicy } from '../specs/backup-policy';
import { endpointProblem } from '../specs/endpoint-url';
import { BackupError } from './errors';
import { isMissingBucket, missingBucketMessage } from './missing-bucket';
import type { SecretResolver } from './secrets';
import { spacesClient, type SpacesAccess } from './spaces';

export interface PolicySpacesDeps {
  s3Client?: (access: SpacesAccess) => S3Client;
  defaultEndpoint?: string;
  resolve: SecretResolver;
}

export interface OpenSpaces {
  s3: S3Client;
  bucket: string;
  prefix: string;
}

export async function withPolicySpaces<T>(
  deps: PolicySpacesDeps,
  policy: { name: string; destination: BackupPolicy['destination'] },
  use: (spaces: OpenSpaces) => Promise<T>,
): Promise<T> {
  const d = policy.destination;
  const endpoint = d.endpoint ?? deps.defaultEndpoint;
  if (!endpoint)
    throw new BackupError(
      'SpacesRefused',
      `policy ${policy.name}: no Spaces endpoint; set destination.endpoint, or SPACES_ENDPOINT on the worker`,
      false,
    );
  // The keys sign every request: never over plain http to anything but this machine.
  const endpointRefusal = endpointProblem(endpoint);
  if (endpointRefusal)
    throw new BackupError('SpacesRefused', `policy ${policy.name}: Spaces endpoint ${endpoint}: ${endpointRefusal}`, false);
  const [accessKeyId, secretAccessKey] = await Promise.all([deps.resolve(d.accessKey), deps.resolve(d.secretKey)]);
  const s3 = (deps.s3Client ?? spacesClient)({ endpoint, region: d.region, accessKeyId, secretAccessKey });
  try {
    return await use({ s3, bucket: d.bucket, prefix: d.prefix });
  } catch (err) {
    // Said once, with how to create it, instead of S3's bare NoSuchBucket; retrying cannot help.
    if (isMissingBucket(err)) throw new BackupError('SpacesRefused', missingBucketMessage(d.bucket, endpoint), false, { cause: err });
    throw err;
  } finally {
    s3.destroy();
  }
}
