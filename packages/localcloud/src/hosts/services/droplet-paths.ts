// Where a path the droplet sees lives on the machine, for reading: like hostPath, except that
// /usr and /opt/localcloud are the folders bubblewrap mounts there, not the empty placeholders in
// the droplet's own folder, and that links into them (/bin -> usr/bin) are followed.
import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { hostPath, type DropletSandbox } from '../sandbox';

export function visiblePath(sandbox: DropletSandbox, insidePath: string, depth = 0): string {
  if (depth > 40) throw new Error('too many levels of symbolic links');
  const parts = path.posix.normalize(insidePath).split('/').filter(Boolean);
  let current = '/';
  for (let i = 0; i < parts.length; i++) {
    const next = path.posix.join(current, parts[i]!);
    const rest = parts.slice(i + 1);
    if (next === '/usr') return path.posix.join('/usr', ...rest);
    if (next === '/opt/localcloud') return path.join(sandbox.shimDir, ...rest);
    const stat = lstatSync(path.join(sandbox.root, next), { throwIfNoEntry: false });
    if (!stat) break;
    if (stat.isSymbolicLink()) {
      const target = readlinkSync(path.join(sandbox.root, next));
      const resolved = target.startsWith('/') ? target : path.posix.join(current, target);
      return visiblePath(sandbox, path.posix.join(resolved, ...rest), depth + 1);
    }
    current = next;
  }
  return hostPath(sandbox, insidePath);
}
