// A droplet's filesystem: a folder of its own that becomes `/` for every command run in the
// droplet, through bubblewrap. The machine's /usr is mounted read-only, so the droplet has the
// machine's programs but writes to /etc, /opt, /root or /var land in the droplet's folder only.
// Every command joins the droplet's user and pid namespaces (isolation/namespaces.ts): root in
// the droplet is an unprivileged host uid with a few capabilities that act inside it only.
import { execFile, execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, existsSync, lstatSync, mkdirSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DropletNamespaces } from './isolation/namespaces';
import { shiftOwnership } from './isolation/uid-range';

export interface DropletSandbox {
  dropletId: number;
  name: string;
  /** Host path of the droplet's `/`. */
  root: string;
  /** The droplet's public address on loopback, such as 127.100.0.2. */
  address: string;
  privateAddress: string;
  /**
   * Where the droplet's own 127.0.0.1 leads (isolation/droplet-loopback.ts): what a container
   * publishes on a loopback address listens here. Absent where no cloud's network policy runs.
   */
  loopbackAddress?: string;
  /** Host folder mounted read-only at /opt/localcloud: the docker, systemctl and apt-get shims. */
  shimDir: string;
  /** Extra mounts made at each start of a command: attached volumes' devices and what is mounted. */
  binds?: () => Array<{ source: string; target: string }>;
  /** The droplet's user and pid namespaces, and with them its host uid range. */
  isolation: DropletNamespaces;
}

export const SANDBOX_PATH = '/opt/localcloud/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Host /etc entries a droplet starts with: what programs need to run, never the host's secrets. */
const ETC_FROM_HOST = [
  'alternatives',
  'bash.bashrc',
  'ca-certificates.conf',
  'debian_version',
  'environment',
  'gai.conf',
  'host.conf',
  'inputrc',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
  'login.defs',
  'mime.types',
  'mysql',
  'networks',
  'nsswitch.conf',
  'os-release',
  'perl',
  'postgresql-common',
  'profile',
  'profile.d',
  'protocols',
  'services',
  'ssl/certs',
  'ssl/openssl.cnf',
  'terminfo',
];

/** Folders every droplet has, like a fresh Debian image. */
const SKELETON = ['etc', 'root', 'home', 'opt', 'srv', 'mnt', 'tmp', 'var/lib', 'var/log', 'var/tmp', 'run', 'usr'];

const run = promisify(execFile);
let bwrapPath: string | undefined;

/** bubblewrap's path, or an error that says how to install it. */
export function resolveBwrap(): string {
  if (bwrapPath) return bwrapPath;
  for (const dir of (process.env.PATH ?? '/usr/bin').split(':')) {
    const candidate = path.join(dir, 'bwrap');
    if (existsSync(candidate)) return (bwrapPath = candidate);
  }
  throw new Error(
    'bubblewrap (bwrap) is not installed; droplet hosts need it: run `bash scripts/host-packages.sh` (apt-get install bubblewrap)',
  );
}

/**
 * The /etc every droplet starts from, made once per local cloud: copying it with `cp -a` is
 * cheap, while assembling it (hundreds of certificate links) takes the better part of a second.
 */
export function prepareEtcTemplate(templateDir: string): void {
  rmSync(templateDir, { recursive: true, force: true });
  const etc = path.join(templateDir, 'etc');
  mkdirSync(etc, { recursive: true });
  for (const entry of ETC_FROM_HOST) {
    const from = path.join('/etc', entry);
    if (!existsSync(from)) continue;
    mkdirSync(path.dirname(path.join(etc, entry)), { recursive: true });
    cpSync(from, path.join(etc, entry), { recursive: true, verbatimSymlinks: true, dereference: false });
  }
  writeFileSync(path.join(etc, 'passwd'), passwdWithoutHostUsers());
  writeFileSync(path.join(etc, 'group'), groupFileFromHost());
}

/**
 * Creates the droplet's root folder on first use; a restart reuses it unchanged. Either way it
 * ends up owned by the droplet's uid range (a folder from before the range existed is moved in).
 */
export async function prepareRoot(sandbox: DropletSandbox, etcTemplateDir: string): Promise<void> {
  ensureUsrMerge(sandbox.root);
  if (!existsSync(path.join(sandbox.root, 'etc', 'hostname'))) await createRoot(sandbox, etcTemplateDir);
  shiftOwnership(sandbox.root, sandbox.isolation.uidBase);
}

async function createRoot(sandbox: DropletSandbox, etcTemplateDir: string): Promise<void> {
  for (const dir of SKELETON) mkdirSync(path.join(sandbox.root, dir), { recursive: true });
  // The trailing /. copies the folder's contents (path.join would drop it).
  await run('cp', ['-a', `${path.join(etcTemplateDir, 'etc')}/.`, path.join(sandbox.root, 'etc')]);
  writeFileSync(
    path.join(sandbox.root, 'etc', 'hosts'),
    `127.0.0.1\tlocalhost\n${sandbox.address}\t${sandbox.name}\n${sandbox.privateAddress}\t${sandbox.name}-private\n`,
  );
  // Written last: its presence means the folder is complete.
  writeFileSync(path.join(sandbox.root, 'etc', 'hostname'), `${sandbox.name}\n`);
}

/**
 * What root in the droplet may do, inside the droplet only (its user namespace): own and change
 * its files, switch to its users, signal its processes. Not mount, chroot, ptrace, load modules
 * or anything else a container runtime would not give.
 */
const DROPLET_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_NET_BIND_SERVICE',
  'CAP_AUDIT_WRITE',
];

/**
 * bwrap sets the droplet up as the machine's root (so nothing of the droplet can touch it while
 * it does), joins the droplet's namespaces last, and setpriv makes the command root of the
 * droplet: host uid <base>, not the unmapped machine root.
 */
const AS_DROPLET_ROOT = ['/usr/bin/setpriv', '--reuid=0', '--regid=0', '--clear-groups', '--'];

export interface SandboxSpawnOptions {
  env: Record<string, string>;
  /** Working directory inside the droplet; /root by default. */
  cwd?: string;
  /** stdin, stdout, stderr and at most one more (fd 3); the namespaces take the next two. */
  stdio: Exclude<StdioOptions, string>;
  detached?: boolean;
  /** More bwrap options, such as --new-session or --json-status-fd 3 (never --die-with-parent: see below). */
  bwrapOptions?: string[];
  /**
   * A program (and its arguments) run first, on the machine, that ends by exec'ing bwrap with the
   * rest of the arguments: it does what only the machine may, such as binding nginx's port 80.
   */
  launcher?: string[];
}

/**
 * Starts argv inside the droplet. It ends with the local cloud through the droplet's pid namespace
 * (isolation/namespaces.ts), never through bwrap's --die-with-parent, which is refused: to join a
 * pid namespace (--pidns) bwrap forks once more and lets the middle process exit(0), while the
 * command sets its parent-death signal just before exec. On a loaded machine the middle process
 * can exit after that, and the kernel then SIGKILLs the command as it starts (traced in issue 11:
 * initdb, createdb and mkdir dying with status 137 under the full test run).
 */
export function spawnInSandbox(sandbox: DropletSandbox, argv: string[], options: SandboxSpawnOptions): ChildProcess {
  if (options.bwrapOptions?.includes('--die-with-parent'))
    throw new Error(
      "--die-with-parent kills a command joining the droplet's pid namespace at random: the namespace ends it with the local cloud",
    );
  const { userFd, pidFd } = sandbox.isolation.handles();
  const userAt = options.stdio.length;
  const binds = sandbox.binds?.() ?? [];
  const args = [
    '--bind',
    sandbox.root,
    '/',
    '--ro-bind',
    '/usr',
    '/usr',
    ...hostTopLevelBinds(),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    // Made by bwrap as the machine's root: open them to the droplet's users, as on a real host.
    '--perms',
    '01777',
    '--tmpfs',
    '/dev/shm',
    ...devFolders(binds.map((b) => b.target)).flatMap((dir) => ['--perms', '0755', '--dir', dir]),
    '--ro-bind',
    sandbox.shimDir,
    '/opt/localcloud',
    ...binds.flatMap((b) => ['--bind', b.source, b.target]),
    '--unshare-ipc',
    '--unshare-uts',
    '--hostname',
    sandbox.name,
    '--pidns',
    String(userAt + 1),
    '--userns2',
    String(userAt),
    '--cap-drop',
    'ALL',
    ...DROPLET_CAPABILITIES.flatMap((cap) => ['--cap-add', cap]),
    '--chdir',
    options.cwd ?? '/root',
    ...(options.bwrapOptions ?? []),
    '--',
    ...AS_DROPLET_ROOT,
    ...argv,
  ];
  const [program, ...programArgs] = [...(options.launcher ?? []), resolveBwrap(), ...args];
  return spawn(program!, programArgs, { env: options.env, stdio: [...options.stdio, userFd, pidFd], detached: options.detached });
}

/** Folders under /dev that mounts go into (/dev/disk/by-id), parents first; bwrap would make them 0700. */
function devFolders(targets: string[]): string[] {
  const folders = new Set<string>();
  for (const target of targets) {
    if (!target.startsWith('/dev/')) continue;
    const parts = target.split('/').slice(2, -1);
    parts.forEach((_, i) => folders.add(`/dev/${parts.slice(0, i + 1).join('/')}`));
  }
  return [...folders];
}

/** Environment of a login in the droplet: nothing from the local cloud's own process leaks in. */
export function sandboxEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: SANDBOX_PATH, HOME: '/root', USER: 'root', LOGNAME: 'root', SHELL: '/bin/bash', LANG: 'C.UTF-8', ...extra };
}

/**
 * The host path of a path inside the droplet, refusing anything that resolves outside its root
 * (through `..` or a symlink). The path need not exist yet; its nearest existing parent is checked.
 */
export function hostPath(sandbox: DropletSandbox, insidePath: string): string {
  if (!insidePath.startsWith('/')) throw new Error(`${insidePath} is not an absolute path inside the droplet`);
  const normalized = path.normalize(insidePath);
  // A path under a mount (a volume at /mnt/pgdata) lives in the mounted folder, not the droplet's.
  const mount = (sandbox.binds?.() ?? [])
    .filter((b) => normalized === b.target || normalized.startsWith(b.target.replace(/\/$/, '') + '/'))
    .sort((a, b) => b.target.length - a.target.length)[0];
  if (mount) return confined(realpathSync(mount.source), path.relative(mount.target, normalized), insidePath);
  return confined(realpathSync(sandbox.root), normalized, insidePath);
}

function confined(root: string, relative: string, shown: string): string {
  const candidate = path.join(root, relative);
  let existing = candidate;
  while (!existsSync(existing) && existing !== root) existing = path.dirname(existing);
  const resolved = resolveInside(root, existing);
  const full = path.join(resolved, path.relative(existing, candidate));
  if (full !== root && !full.startsWith(root + path.sep)) throw new Error(`${shown} is outside the droplet`);
  return full;
}

// Symlinks inside the droplet are absolute relative to the droplet's root, not the host's.
function resolveInside(root: string, hostCandidate: string, depth = 0): string {
  if (depth > 40) throw new Error('too many levels of symbolic links');
  const rel = path.relative(root, hostCandidate);
  if (rel.startsWith('..')) throw new Error('path is outside the droplet');
  let current = root;
  for (const part of rel.split(path.sep).filter(Boolean)) {
    const next = path.join(current, part);
    if (lstatSync(next, { throwIfNoEntry: false })?.isSymbolicLink()) {
      const target = readlinkSync(next);
      const inside = target.startsWith('/') ? path.join(root, target) : path.join(current, target);
      // /usr and the usr-merge links point at the machine's read-only /usr, which is fine to read.
      current = resolveInside(root, path.normalize(inside), depth + 1);
    } else {
      current = next;
    }
  }
  return current;
}

const TOP_LEVEL = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/**
 * /bin, /lib and friends: on a merged-/usr machine they are symlinks into /usr, made once in the
 * droplet's folder (bwrap would otherwise create them there and then trip over them next time).
 */
function ensureUsrMerge(root: string): void {
  for (const dir of TOP_LEVEL) {
    const stat = lstatSync(`/${dir}`, { throwIfNoEntry: false });
    const inRoot = path.join(root, dir);
    if (stat?.isSymbolicLink() && !lstatSync(inRoot, { throwIfNoEntry: false })) symlinkSync(readlinkSync(`/${dir}`), inRoot);
  }
}

/** Top-level system folders that are real folders on this machine (not merged into /usr): read-only. */
function hostTopLevelBinds(): string[] {
  return TOP_LEVEL.filter((dir) => lstatSync(`/${dir}`, { throwIfNoEntry: false })?.isDirectory()).flatMap((dir) => [
    '--ro-bind',
    `/${dir}`,
    `/${dir}`,
  ]);
}

function passwdWithoutHostUsers(): string {
  // System accounts (uid < 1000) keep server binaries such as postgres happy; people's accounts stay on the host.
  return (
    execFileSync('getent', ['passwd'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => {
        const uid = Number(line.split(':')[2]);
        return line !== '' && (uid < 1000 || uid === 65534);
      })
      .join('\n') + '\n'
  );
}

function groupFileFromHost(): string {
  return (
    execFileSync('getent', ['group'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line !== '' && Number(line.split(':')[2]) < 1000)
      .map((line) => line.split(':').slice(0, 3).join(':') + ':')
      .join('\n') + '\n'
  );
}
