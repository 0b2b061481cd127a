// Finds (or builds, once per machine) the control plane's binaries through the checkout's
// scripts/kube-plane.sh: its progress lines go to `onProgress`, the folder comes back. The build
// can take most of an hour the first time, so whoever waits can cancel it (the script's own trap
// stops the Go build).
import { execFile, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package-root';

export const KUBE_PLANE_SCRIPT = path.join(PACKAGE_ROOT, '..', '..', 'scripts', 'kube-plane.sh');

export interface BinariesLookup {
  binDir: Promise<string>;
  cancel(): void;
}

export function resolveKubePlaneBinaries(onProgress: (line: string) => void = (l) => process.stderr.write(l)): BinariesLookup {
  let child: ChildProcess | undefined;
  const binDir = new Promise<string>((resolve, reject) => {
    child = execFile('bash', [KUBE_PLANE_SCRIPT], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err)
        reject(new Error(`could not find or build the Kubernetes control plane binaries with ${KUBE_PLANE_SCRIPT} (see its messages)`));
      else resolve(stdout.trim());
    });
    child.stderr?.on('data', (chunk: Buffer) => onProgress(chunk.toString()));
  });
  return { binDir, cancel: () => child?.kill('SIGTERM') };
}
