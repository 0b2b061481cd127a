// Files the local cloud itself writes into a droplet's folder (logs, the control socket, unit
// links, client configs) run as the machine's root: each is handed to the droplet's root (or one
// of its users) right away, so the droplet can use, change and remove it like its own.
import { appendFileSync, lchownSync, mkdirSync, writeFileSync, type WriteFileOptions } from 'node:fs';
import path from 'node:path';
import type { DropletSandbox } from '../sandbox';
import { hostId } from './uid-range';

/** mkdir -p, with every folder it creates owned by the droplet's root. */
export function makeDropletDir(sandbox: DropletSandbox, hostDir: string): void {
  const first = mkdirSync(hostDir, { recursive: true });
  if (!first) return;
  for (let dir = hostDir; ; dir = path.dirname(dir)) {
    giveToDroplet(sandbox, dir);
    if (dir === first || dir === path.dirname(dir)) break;
  }
}

/** Writes a file (and its folder) owned by the droplet's root. */
export function writeDropletFile(sandbox: DropletSandbox, hostFile: string, data: string, options?: WriteFileOptions): void {
  makeDropletDir(sandbox, path.dirname(hostFile));
  writeFileSync(hostFile, data, options);
  giveToDroplet(sandbox, hostFile);
}

/** Appends to a file, creating it (and its folder) owned by the droplet's root. */
export function appendDropletFile(sandbox: DropletSandbox, hostFile: string, data: string): void {
  makeDropletDir(sandbox, path.dirname(hostFile));
  appendFileSync(hostFile, data);
  giveToDroplet(sandbox, hostFile);
}

/** Hands a path to the user `uid`:`gid` of the droplet (root by default); a symlink itself, not its target. */
export function giveToDroplet(sandbox: DropletSandbox, hostFile: string, uid = 0, gid = 0): void {
  const base = sandbox.isolation.uidBase;
  lchownSync(hostFile, hostId(base, uid), hostId(base, gid));
}
