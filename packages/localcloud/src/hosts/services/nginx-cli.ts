// The `nginx` command inside a droplet, once the package is installed: the machine's
// /usr/sbin/nginx, run as the droplet's root. A configuration test (`-t`, `-T`) is run here, with
// the droplet's ports 80 and 443 handed over bound (listen-sockets.ts), since nginx binds every
// address it checks; anything else (`-s reload`, `-v`, `-V`) the shim runs itself, in place.
import { runInSandbox } from './sandboxed-process';
import { installedPackages } from './apt-cli';
import { nginxSocketLauncher } from './listen-sockets';
import { NGINX_BINARY, NGINX_PACKAGES } from './nginx-package';
import type { Invocation, Outcome } from './protocol';
import type { DropletSandbox } from '../sandbox';

/** Options of nginx that take a value (`-c file`, or `-cfile`). */
const WITH_VALUE = new Set(['c', 'g', 'p', 'e', 's']);

/** Whether nginx is asked to test its configuration (`-t`, `-T`, or in a group such as `-tq`). */
export function testsConfiguration(args: string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) continue;
    for (let j = 1; j < arg.length; j++) {
      const option = arg[j]!;
      if (option === 't' || option === 'T') return true;
      if (WITH_VALUE.has(option)) {
        if (j === arg.length - 1) i++; // the value is the next argument
        break;
      }
    }
  }
  return false;
}

export async function nginxCommand(inv: Invocation, sandbox: DropletSandbox): Promise<Outcome> {
  if (!installedPackages(sandbox).some((name) => NGINX_PACKAGES.has(name))) {
    inv.io.err('bash: nginx: command not found (apt-get install nginx)\n');
    return 127;
  }
  const { args, env, cwd } = inv.request;
  if (!testsConfiguration(args)) return { exec: { argv: [NGINX_BINARY, ...args], env, cwd, stdin: false } };
  const result = await runInSandbox(sandbox, [NGINX_BINARY, ...args], { env, cwd, launcher: nginxSocketLauncher(sandbox.address, 'test') });
  inv.io.out(result.stdout);
  // nginx notes the handed-over sockets on stderr; that is the local cloud's business, not the caller's.
  inv.io.err(
    result.stderr
      .split('\n')
      .filter((line) => !/\[notice\] \d*#?\d*:? ?using inherited sockets from/.test(line))
      .join('\n'),
  );
  // `listen 80` means every address of the machine, which a droplet does not have: say what to write.
  const refused = /bind\(\) to (\S+):(\d+) failed \(13: Permission denied\)/.exec(result.stderr);
  if (refused)
    inv.io.err(
      `localcloud: droplets share the machine's network: listen on this droplet's address, \`listen ${sandbox.address}:${refused[2]};\` (ports 80 and 443 there are handed to nginx; other ports below 1024 cannot be bound)\n`,
    );
  return result.code;
}
