// The commands a droplet gets in /opt/localcloud/bin (first on its PATH): docker, docker-compose,
// systemctl, apt-get, apt and nginx (nginx-cli.ts), each a two-line wrapper around one client script that talks to the
// droplet's services manager. Written once into the shim folder all droplets share, read-only.
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../package-root';

export const SHIM_TOOLS = ['docker', 'docker-compose', 'systemctl', 'apt-get', 'apt', 'nginx'] as const;
export const SHIM_CLIENT_ASSET = path.join(PACKAGE_ROOT, 'assets', 'shim-client.cjs');

/** The machine's node, as the droplet sees it: the droplet has the machine's /usr and nothing else. */
function nodeInDroplet(): string {
  if (process.execPath.startsWith('/usr/')) return process.execPath;
  if (existsSync('/usr/bin/node')) return '/usr/bin/node';
  throw new Error(
    `node runs from ${process.execPath}, outside /usr: droplets cannot run the docker and systemctl shims (install nodejs from the distribution)`,
  );
}

export function writeShims(shimDir: string): void {
  const node = nodeInDroplet();
  mkdirSync(path.join(shimDir, 'bin'), { recursive: true });
  mkdirSync(path.join(shimDir, 'lib'), { recursive: true });
  const client = path.join(shimDir, 'lib', 'shim-client.cjs');
  // Replaced, never rewritten in place: a droplet may be running the old copy right now.
  copyFileSync(SHIM_CLIENT_ASSET, `${client}.tmp`);
  renameSync(`${client}.tmp`, client);
  for (const tool of SHIM_TOOLS) {
    const file = path.join(shimDir, 'bin', tool);
    writeFileSync(`${file}.tmp`, `#!/bin/bash\nexec ${node} /opt/localcloud/lib/shim-client.cjs ${tool} "$@"\n`);
    chmodSync(`${file}.tmp`, 0o755);
    renameSync(`${file}.tmp`, file);
  }
}
