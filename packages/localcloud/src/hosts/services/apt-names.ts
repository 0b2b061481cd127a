// What `apt-get install <name>` in a droplet gets, for the names an Ubuntu spec uses. A droplet
// shares the machine's /usr (Debian), so a name resolves to a package the machine has:
//   - the name itself, installed on the machine;
//   - Ubuntu's names for what Debian calls otherwise (mysql-server is MariaDB here, as Debian's
//     default-mysql-server is);
//   - a metapackage or another release's versioned name (postgresql-client, postgresql-16,
//     postgresql-client-14) to the machine's installed version of the same family;
//   - a virtual name an installed package provides (dpkg's Provides);
//   - otherwise Debian's package of that name, installed on the machine at that moment (the local
//     cloud runs as root; OPSFLOW_LOCALCLOUD_APT_FROM_DEBIAN=0 turns this off).
// Only a name neither the machine nor Debian's lists know is refused.
import { execFile } from 'node:child_process';
import { Mutex } from './mutex';

/** Ubuntu names whose Debian package has another name. */
const UBUNTU_NAMES: Record<string, string[]> = {
  'mysql-server': ['mariadb-server'],
  'mysql-client': ['mariadb-client'],
  'default-mysql-server': ['mariadb-server'],
  'default-mysql-client': ['mariadb-client'],
  'mysql-server-core': ['mariadb-server-core'],
  'mysql-client-core': ['mariadb-client-core'],
  redis: ['redis-server'],
  'postgresql-client': ['postgresql-client-'],
};

/** Families whose versioned names (postgresql-16, mysql-server-8.0) stand for the machine's version. */
const VERSIONED_FAMILIES: { pattern: RegExp; stem: string }[] = [
  { pattern: /^postgresql-\d+$/, stem: 'postgresql-' },
  { pattern: /^postgresql-client-\d+$/, stem: 'postgresql-client-' },
  { pattern: /^postgresql-contrib-\d+$/, stem: 'postgresql-' },
  { pattern: /^postgresql-server-dev-\d+$/, stem: 'postgresql-server-dev-' },
  { pattern: /^mysql-server-[\d.]+$/, stem: 'mariadb-server' },
  { pattern: /^mysql-client-[\d.]+$/, stem: 'mariadb-client' },
];

export interface MachinePackage {
  name: string;
  version: string;
  provides: string[];
}

export type Resolution =
  | { kind: 'installed'; name: string; version: string }
  /** Another package the machine has stands for it: apt's "Note, selecting X instead of Y". */
  | { kind: 'selected'; name: string; version: string }
  /** Known to Debian's lists but not on the machine: install it there first. */
  | { kind: 'debian'; name: string; version: string }
  | { kind: 'unknown'; why: string };

/** The machine's installed packages, one dpkg-query for all. */
export function machinePackages(): Promise<Map<string, MachinePackage>> {
  return new Promise((resolve) => {
    execFile(
      'dpkg-query',
      ['-W', '-f=${Package}\t${Version}\t${Provides}\t${db:Status-Abbrev}\n'],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout) => {
        const packages = new Map<string, MachinePackage>();
        if (error) return resolve(packages);
        for (const line of stdout.split('\n')) {
          const [name, version, provides, status] = line.split('\t');
          if (!name || !version || !status?.startsWith('ii')) continue;
          const provided = (provides ?? '')
            .split(',')
            .map((p) => p.trim().split(/\s/)[0]!)
            .filter(Boolean);
          packages.set(name, { name, version, provides: provided });
        }
        resolve(packages);
      },
    );
  });
}

/** The installed package a name stands for (the name itself first), or undefined. */
export function resolveOnMachine(name: string, packages: Map<string, MachinePackage>): Resolution | undefined {
  const own = packages.get(name);
  if (own) return { kind: 'installed', name, version: own.version };
  const candidates = [
    ...(UBUNTU_NAMES[name] ?? []),
    ...VERSIONED_FAMILIES.filter((family) => family.pattern.test(name)).map((family) => family.stem),
  ];
  for (const candidate of candidates) {
    // A stem ending in '-' takes the newest installed version of the family (postgresql-client-15).
    const found = candidate.endsWith('-') ? newestOfFamily(candidate, packages) : packages.get(candidate);
    if (found) return { kind: 'selected', name: found.name, version: found.version };
  }
  const provider = [...packages.values()].find((pkg) => pkg.provides.includes(name));
  if (provider) return { kind: 'selected', name: provider.name, version: provider.version };
  return undefined;
}

function newestOfFamily(stem: string, packages: Map<string, MachinePackage>): MachinePackage | undefined {
  const family = [...packages.values()].filter((pkg) => pkg.name.startsWith(stem) && /^\d+$/.test(pkg.name.slice(stem.length)));
  return family.sort((a, b) => Number(b.name.slice(stem.length)) - Number(a.name.slice(stem.length)))[0];
}

/** Debian's candidate version of a package the machine does not have, from the machine's apt lists. */
export function debianCandidate(name: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('apt-cache', ['policy', '--', name], { timeout: 60_000 }, (error, stdout) => {
      const candidate = /^\s+Candidate: (\S+)$/m.exec(stdout)?.[1];
      resolve(error || !candidate || candidate === '(none)' ? undefined : candidate);
    });
  });
}

/** Whether droplets may have Debian packages installed on the machine for them. */
export function installsFromDebian(): boolean {
  return process.env.OPSFLOW_LOCALCLOUD_APT_FROM_DEBIAN !== '0' && process.getuid?.() === 0;
}

/** Full resolution: the machine first, then Debian's lists. */
export async function resolvePackage(name: string, packages: Map<string, MachinePackage>): Promise<Resolution> {
  const onMachine = resolveOnMachine(name, packages);
  if (onMachine) return onMachine;
  const candidate = await debianCandidate(name);
  if (!candidate) return { kind: 'unknown', why: `neither this machine nor Debian's package lists have ${name}` };
  if (!installsFromDebian())
    return {
      kind: 'unknown',
      why: `${name} ${candidate} is in Debian but not on this machine, and the local cloud may not install it (it runs as root with OPSFLOW_LOCALCLOUD_APT_FROM_DEBIAN unset or 1): apt-get install ${name} on the machine`,
    };
  return { kind: 'debian', name, version: candidate };
}

const machineApt = new Mutex();

/**
 * Installs Debian packages on the machine (the droplets' shared /usr), one apt-get at a time for
 * the whole local cloud; `progress` gets apt's output lines. Names are passed as arguments after
 * `--`, never through a shell, and each was already found in Debian's lists.
 */
export function installOnMachine(names: string[], progress: (line: string) => void): Promise<void> {
  return machineApt.run(
    () =>
      new Promise<void>((resolve, reject) => {
        const child = execFile(
          'apt-get',
          // Another apt on the machine (a second local cloud, a person) is waited for, not failed on.
          ['install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600', '--', ...names],
          { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 20 * 60_000, maxBuffer: 64 * 1024 * 1024 },
          (error, _stdout, stderr) =>
            error
              ? reject(new Error(`apt-get install ${names.join(' ')} on the machine failed: ${stderr.trim() || error.message}`))
              : resolve(),
        );
        child.stdout?.on('data', (chunk: Buffer) => {
          for (const line of chunk.toString('utf8').split('\n')) if (/^(Get|Setting up|Unpacking)/.test(line)) progress(line);
        });
      }),
  );
}
