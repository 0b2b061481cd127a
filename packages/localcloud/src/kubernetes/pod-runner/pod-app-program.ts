// Where the program of a pod's app container (pod-app.ts) is, as a folder mounted read-only into
// each container's sandbox and the script in it. Running compiled (dist/), it is the compiled
// pod-app.js, beside the compiled app service it requires: the whole dist folder is mounted. Running
// from the sources (jest, tsx) there is no JavaScript of it, so it is bundled once per local cloud
// with esbuild (a dev dependency, present wherever the sources run) into one self-contained file:
// it needs nothing but node's own modules.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export interface PodAppProgram {
  /** Host folder mounted at MOUNT_POINT. */
  hostDir: string;
  /** The script's path inside the sandbox. */
  script: string;
}

/** Where the program's folder appears in a container's sandbox. */
export const MOUNT_POINT = '/opt/localcloud';

/** The node a container runs: the machine's, which its sandbox sees under the read-only /usr. */
export function nodeInSandbox(): string {
  if (process.execPath.startsWith('/usr/')) return process.execPath;
  if (existsSync('/usr/bin/node')) return '/usr/bin/node';
  throw new Error(
    `node runs from ${process.execPath}, outside /usr: pods' containers cannot run it (install nodejs from the distribution)`,
  );
}

/** The compiled program, or (from the sources) a bundle of it made into `bundleDir`. */
export async function podAppProgram(bundleDir: string): Promise<PodAppProgram> {
  if (__filename.endsWith('.js')) {
    const distDir = path.resolve(__dirname, '..', '..');
    return { hostDir: distDir, script: path.posix.join(MOUNT_POINT, 'kubernetes', 'pod-runner', 'pod-app.js') };
  }
  mkdirSync(bundleDir, { recursive: true, mode: 0o755 });
  const outfile = path.join(bundleDir, 'pod-app.js');
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('running the local cloud from its sources, pods need esbuild (npm ci installs it) to bundle their program');
  }
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'pod-app.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'silent',
  });
  return { hostDir: bundleDir, script: path.posix.join(MOUNT_POINT, 'pod-app.js') };
}
