// `apt-get` and `apt` inside a droplet. A droplet shares the machine's /usr, so a package can be
// "installed" when the machine has it or the droplet provides it itself (docker and compose are
// the shims); Ubuntu's names, versioned and virtual names resolve to the machine's package, and a
// Debian package the machine lacks is installed on the machine first (apt-names.ts). Installing
// records the name asked for in the droplet's /var/lib/localcloud/packages; a name that cannot be
// had is "Unable to locate package", exit status 100, as apt says it. nginx (any of Debian's
// builds) is installed as dpkg would: its files in /etc and /var (nginx-package.ts), then enabled
// and started.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeDropletFile } from '../isolation/droplet-files';
import { hostPath, type DropletSandbox } from '../sandbox';
import { parseArgs, flag } from './args';
import { UsageError, type Invocation, type Outcome } from './protocol';
import { NGINX_PACKAGES, NGINX_UNIT, nginxOnMachine, writeNginxPackageFiles } from './nginx-package';
import { PACKAGES_FILE } from './state';
import { installOnMachine, machinePackages, resolvePackage } from './apt-names';

/** What installing or removing a package that brings a service does to the droplet's units. */
export interface PackageServices {
  /** Enables and starts a unit; returns the lines systemctl prints. */
  enableAndStart(unit: string): Promise<string[]>;
  stopAndDisable(unit: string): Promise<void>;
}

/** Packages the droplet provides without the machine having them, with the version apt reports. */
export const PROVIDED_PACKAGES: Record<string, string> = {
  'docker.io': '24.0.7-localcloud',
  'docker-ce': '5:24.0.7-localcloud',
  'docker-ce-cli': '5:24.0.7-localcloud',
  'containerd.io': '1.6.24-localcloud',
  'docker-compose-plugin': '2.24.6-localcloud',
  'docker-compose': '2.24.6-localcloud',
  'docker-compose-v2': '2.24.6-localcloud',
  'docker-buildx-plugin': '0.11.2-localcloud',
  'apt-transport-https': '2.6.1',
  'software-properties-common': '0.99.30',
  systemd: '252-localcloud',
};

const OPTIONS = {
  'y|yes|assume-yes': false,
  'q|quiet': false,
  qq: false,
  'no-install-recommends': false,
  'install-suggests': false,
  'o|option': true,
  'allow-downgrades': false,
  'allow-change-held-packages': false,
  'allow-unauthenticated': false,
  'fix-broken': false,
  f: false,
  reinstall: false,
  purge: false,
  autoremove: false,
  'no-upgrade': false,
  'only-upgrade': false,
  'dry-run|simulate|s': false,
  'download-only|d': false,
  'show-progress': false,
  'list-cleanup': false,
  update: false,
  'V|verbose-versions': false,
  installed: false,
  upgradable: false,
};

export async function aptCommand(inv: Invocation, sandbox: DropletSandbox, services?: PackageServices): Promise<Outcome> {
  const tool = inv.request.tool;
  try {
    const parsed = parseArgs(
      inv.request.args.map((arg) => (arg === '-qq' ? '--qq' : arg)),
      OPTIONS,
      { usageExit: 100 },
    );
    const [command, ...names] = parsed.positionals;
    const quiet = flag(parsed, 'qq') || flag(parsed, 'quiet');
    if (tool === 'apt') inv.io.err('\nWARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n\n');
    switch (command) {
      case 'update':
        if (!flag(parsed, 'qq')) {
          inv.io.out(
            'Hit:1 http://deb.debian.org/debian bookworm InRelease\nHit:2 http://deb.debian.org/debian bookworm-updates InRelease\nHit:3 http://deb.debian.org/debian-security bookworm-security InRelease\nReading package lists... Done\n',
          );
        }
        return 0;
      case 'upgrade':
      case 'dist-upgrade':
      case 'full-upgrade':
      case 'autoremove':
      case 'clean':
      case 'autoclean':
        if (!quiet) inv.io.out('Reading package lists... Done\nBuilding dependency tree... Done\nReading state information... Done\n');
        if (!quiet && command !== 'clean' && command !== 'autoclean')
          inv.io.out('0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n');
        return 0;
      case 'install':
      case 'reinstall':
        return await install(inv, sandbox, names, quiet, services);
      case 'remove':
      case 'purge':
        return await remove(inv, sandbox, names, quiet, services);
      case 'list':
        return list(inv, sandbox);
      case undefined:
        throw new UsageError(`${tool} 2.6.1 (amd64)\nUsage: ${tool} [options] command`, 1);
      default:
        throw new UsageError(`E: Invalid operation ${command}`, 100);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    inv.io.err(
      `${error.message.startsWith('E: ') || error.exitCode !== 100 ? error.message : `E: Command line option ${error.message.replace(/^unknown (shorthand )?flag: /, '')} is not understood in combination with the other options`}\n`,
    );
    return error.exitCode;
  }
}

function packageFile(sandbox: DropletSandbox): string {
  return hostPath(sandbox, PACKAGES_FILE);
}

export function installedPackages(sandbox: DropletSandbox): string[] {
  const file = packageFile(sandbox);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

function writePackages(sandbox: DropletSandbox, names: string[]): void {
  const file = packageFile(sandbox);
  writeDropletFile(
    sandbox,
    file,
    [...new Set(names)]
      .sort()
      .map((name) => `${name}\n`)
      .join(''),
  );
}

async function install(
  inv: Invocation,
  sandbox: DropletSandbox,
  requested: string[],
  quiet: boolean,
  services: PackageServices | undefined,
): Promise<Outcome> {
  if (requested.length === 0) {
    if (!quiet)
      inv.io.out(
        'Reading package lists... Done\nBuilding dependency tree... Done\nReading state information... Done\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n',
      );
    return 0;
  }
  if (!quiet) inv.io.out('Reading package lists...\nBuilding dependency tree...\nReading state information...\n');
  const installed = new Set(installedPackages(sandbox));
  const found: { name: string; version: string }[] = [];
  const fromDebian: string[] = [];
  const machine = await machinePackages();
  for (const raw of requested) {
    // name=version and name:arch select what the machine has anyway.
    const name = raw.split('=')[0]!.split(':')[0]!;
    if (!/^[a-z0-9][a-z0-9+.-]*$/.test(name)) {
      inv.io.err(`E: Unable to locate package ${raw}\n`);
      return 100;
    }
    const own = await ownVersion(name);
    const resolution = own ? undefined : await resolvePackage(name, machine);
    if (resolution?.kind === 'unknown') {
      inv.io.err(`E: Unable to locate package ${raw}\nN: ${resolution.why}\n`);
      return 100;
    }
    if (resolution?.kind === 'selected' && !quiet) inv.io.out(`Note, selecting '${resolution.name}' instead of '${name}'\n`);
    if (resolution?.kind === 'debian') fromDebian.push(resolution.name);
    found.push({ name, version: own ?? resolution!.version });
  }
  if (fromDebian.length > 0) {
    // The droplet's /usr is the machine's: what Debian has goes onto the machine first.
    inv.io.out(`localcloud: installing ${fromDebian.join(' ')} from Debian on this machine (droplets share its /usr)\n`);
    try {
      await installOnMachine(fromDebian, (line) => !quiet && inv.io.out(`${line}\n`));
    } catch (error) {
      inv.io.err(`E: ${(error as Error).message}\n`);
      return 100;
    }
  }
  const fresh = found.filter((pkg) => !installed.has(pkg.name));
  for (const pkg of found.filter((p) => installed.has(p.name)))
    if (!quiet) inv.io.out(`${pkg.name} is already the newest version (${pkg.version}).\n`);
  if (!quiet && fresh.length > 0)
    inv.io.out(`The following NEW packages will be installed:\n  ${fresh.map((pkg) => pkg.name).join(' ')}\n`);
  if (!quiet) inv.io.out(`0 upgraded, ${fresh.length} newly installed, 0 to remove and 0 not upgraded.\n`);
  for (const pkg of fresh) {
    if (!quiet) inv.io.out(`Selecting previously unselected package ${pkg.name}.\nSetting up ${pkg.name} (${pkg.version}) ...\n`);
  }
  writePackages(sandbox, [...installed, ...fresh.map((pkg) => pkg.name)]);
  if (fresh.some((pkg) => NGINX_PACKAGES.has(pkg.name)) && !installed.has('nginx-common')) {
    writeNginxPackageFiles(sandbox);
    writePackages(sandbox, [...installedPackages(sandbox), 'nginx-common']);
    if (services) {
      try {
        for (const line of await services.enableAndStart(NGINX_UNIT)) if (!quiet) inv.io.out(`${line}\n`);
      } catch (error) {
        inv.io.err(`${(error as Error).message}\ninvoke-rc.d: initscript nginx, action "start" failed.\n`);
        inv.io.err('E: Sub-process /usr/bin/dpkg returned an error code (1)\n');
        return 100;
      }
    }
  }
  return 0;
}

async function remove(
  inv: Invocation,
  sandbox: DropletSandbox,
  names: string[],
  quiet: boolean,
  services: PackageServices | undefined,
): Promise<Outcome> {
  const installed = installedPackages(sandbox);
  const removing = names.filter((name) => installed.includes(name));
  // The last nginx build going takes its service with it (its files in /etc stay, as remove leaves conffiles).
  const nginxLeft = installed.filter((name) => NGINX_PACKAGES.has(name) && !removing.includes(name));
  if (removing.some((name) => NGINX_PACKAGES.has(name)) && nginxLeft.length === 0) {
    await services?.stopAndDisable(NGINX_UNIT);
    removing.push('nginx-common');
  }
  for (const name of names.filter((n) => !installed.includes(n))) inv.io.out(`Package '${name}' is not installed, so not removed\n`);
  if (!quiet) inv.io.out(`0 upgraded, 0 newly installed, ${removing.length} to remove and 0 not upgraded.\n`);
  for (const name of removing) if (!quiet) inv.io.out(`Removing ${name} ...\n`);
  writePackages(
    sandbox,
    installed.filter((name) => !removing.includes(name)),
  );
  return 0;
}

function list(inv: Invocation, sandbox: DropletSandbox): Outcome {
  inv.io.out('Listing... Done\n');
  for (const name of installedPackages(sandbox)) inv.io.out(`${name}/stable,now amd64 [installed]\n`);
  return 0;
}

/** The version of a name the droplet provides itself, or of nginx (any build is the machine's nginx binary). */
async function ownVersion(name: string): Promise<string | undefined> {
  if (PROVIDED_PACKAGES[name]) return PROVIDED_PACKAGES[name];
  if (NGINX_PACKAGES.has(name) && nginxOnMachine()) return (await dpkgVersion('nginx-common')) ?? '1.22.1-localcloud';
  return undefined;
}

function dpkgVersion(name: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('dpkg-query', ['-W', '-f=${Status}\t${Version}', name], (error, stdout) => {
      if (error) return resolve(undefined);
      const [status, version] = stdout.split('\t');
      resolve(status?.endsWith(' installed') ? version : undefined);
    });
  });
}
