// Finds (or builds, once per machine) the pinned S3 server binary through the package's
// scripts/s3-server.sh: its progress goes to `onProgress`, the binary's path comes back.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package-root';

export const S3_SERVER_SCRIPT = path.join(PACKAGE_ROOT, 'scripts', 's3-server.sh');

export function resolveS3ServerBinary(onProgress: (line: string) => void = (l) => process.stderr.write(l)): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('bash', [S3_SERVER_SCRIPT], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) reject(new Error('could not find or build the S3 server (see the messages above)'));
      else resolve(stdout.trim());
    });
    child.stderr?.on('data', (chunk: Buffer) => onProgress(chunk.toString()));
  });
}
