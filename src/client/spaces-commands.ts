// `opsflow spaces create`: registered on the CLI here, the work in ./spaces.
import type { Command } from 'commander';
import { bucketPlace, createBucket, type SpacesCreateOptions } from './spaces';

export function registerSpacesCommands(program: Command): void {
  const spaces = program.command('spaces').description('Spaces (S3) buckets that backups write to');
  spaces
    .command('create')
    .description("create a bucket for backups: a policy's destination, or one named with its endpoint and keys")
    .argument('[bucket]', "bucket name (default: the policy's destination.bucket)")
    .option('--policy <file>', "take bucket, endpoint, region and key references from this backup policy file's destination")
    .option(
      '--endpoint <url>',
      "Spaces endpoint, such as https://fra1.digitaloceanspaces.com (default: the policy's, SPACES_ENDPOINT, else the local cloud's)",
    )
    .option('--region <region>', "S3 region to sign for (default: the policy's, else us-east-1)")
    .option('--access-key <ref>', 'access key as a secret reference: env:NAME or file:/path')
    .option('--secret-key <ref>', 'secret key as a secret reference: env:NAME or file:/path')
    .action(async (bucket: string | undefined, opts: SpacesCreateOptions) => {
      const place = await bucketPlace(bucket, opts);
      const outcome = await createBucket(place);
      console.log(
        outcome === 'created'
          ? `created bucket ${place.bucket} at ${place.endpoint} (endpoint from ${place.endpointFrom})`
          : `bucket ${place.bucket} already exists at ${place.endpoint} and is yours: nothing to do`,
      );
    });
}
