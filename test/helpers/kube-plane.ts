// Whether this machine has the Kubernetes control plane binaries scripts/kube-plane.sh builds, found
// as that script finds them (OPSFLOW_KUBE_BIN_DIR, else its cache folder, named from the versions
// pinned in the script itself) but never building them: a test that needs a cluster is skipped,
// saying why, on a machine where the build has not run.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/paths';

const SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'kube-plane.sh');
const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kwok', 'prometheus'];

export type KubePlaneSetup = { ok: true; binDir: string } | { ok: false; reason: string };

function pinned(script: string, name: string): string {
  const match = new RegExp(`^readonly ${name}="([^"]+)"`, 'm').exec(script);
  if (!match) throw new Error(`${SCRIPT} pins no ${name}`);
  return match[1]!;
}

export function findKubePlane(env: NodeJS.ProcessEnv = process.env): KubePlaneSetup {
  const script = readFileSync(SCRIPT, 'utf8');
  const cacheRoot = env.OPSFLOW_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'opsflow');
  const binDir =
    env.OPSFLOW_KUBE_BIN_DIR ||
    path.join(
      cacheRoot,
      'kube',
      `bin-k${pinned(script, 'KUBE_VERSION')}-etcd${pinned(script, 'ETCD_VERSION')}-kwok${pinned(script, 'KWOK_VERSION')}`,
    );
  const missing = BINARIES.filter((name) => !existsSync(path.join(binDir, name)));
  if (missing.length > 0)
    return { ok: false, reason: `no ${missing.join(', ')} in ${binDir} (bash scripts/kube-plane.sh builds them, once per machine)` };
  return { ok: true, binDir };
}
