// Finds (or builds, once per machine) the pinned Temporal CLI through scripts/temporal-cli.sh.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths';

export const TEMPORAL_CLI_SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'temporal-cli.sh');

export function resolveTemporalCli(onProgress?: (line: string) => void): Promise<string> {
  return resolveWithScript(TEMPORAL_CLI_SCRIPT, 'the Temporal CLI', onProgress);
}

/**
 * Runs one of the scripts that find or build a pinned binary (scripts/temporal-cli.sh,
 * scripts/s3-server.sh): their progress goes to `onProgress`, the binary's path comes back.
 */
export function resolveWithScript(
  script: string,
  what: string,
  onProgress: (line: string) => void = (l) => process.stderr.write(l),
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('bash', [script], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) reject(new Error(`could not find or build ${what} (see the messages above)`));
      else resolve(stdout.trim());
    });
    child.stderr?.on('data', (chunk: Buffer) => onProgress(chunk.toString()));
  });
}
