// Finds (or builds, once per machine) the pinned S3 server binary through scripts/s3-server.sh.
import path from 'node:path';
import { resolveWithScript } from '../../devstack/temporal-cli';
import { PROJECT_ROOT } from '../../paths';

export const S3_SERVER_SCRIPT = path.join(PROJECT_ROOT, 'scripts', 's3-server.sh');

export function resolveS3ServerBinary(onProgress?: (line: string) => void): Promise<string> {
  return resolveWithScript(S3_SERVER_SCRIPT, 'the S3 server', onProgress);
}
