// Reads a compose project the way `docker compose` does: finds the file, interpolates ${VAR} from
// the caller's environment and the project's .env, normalises the short and long syntaxes, and
// checks what it reads, so a bad file fails with a message that names the problem instead of
// half-starting a stack. Paths are the droplet's: every file is read through the sandbox.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { hostPath, type DropletSandbox } from '../sandbox';
import { interpolate, InterpolationError, parseEnvFile } from './interpolate';
import { parseImage } from './image';
import type { ContainerSpec, PortBinding, VolumeMount } from './state';
import { VOLUMES_DIR } from './state';
import { splitWords } from './words';

export class ComposeError extends Error {}

export interface ComposeOptions {
  /** Caller's working directory inside the droplet. */
  cwd: string;
  files: string[];
  projectName?: string;
  projectDirectory?: string;
  envFiles: string[];
  profiles: string[];
  /** Caller's environment. */
  env: Record<string, string>;
}

export interface ComposeService {
  name: string;
  containerName: string;
  spec: ContainerSpec;
  dependsOn: string[];
}

export interface ComposeProject {
  name: string;
  workingDir: string;
  configFiles: string[];
  /** In dependency order: every service after those it depends on. */
  services: ComposeService[];
  /** Named volumes: in-droplet folder by volume name. */
  volumes: Record<string, string>;
  warnings: string[];
}

const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
const TOP_LEVEL = new Set(['version', 'name', 'services', 'volumes', 'networks', 'configs', 'secrets', 'include']);
/** Service keys compose accepts; those that change nothing here are accepted and ignored. */
const SERVICE_KEYS = new Set([
  'image',
  'build',
  'container_name',
  'command',
  'entrypoint',
  'environment',
  'env_file',
  'ports',
  'expose',
  'volumes',
  'depends_on',
  'healthcheck',
  'restart',
  'working_dir',
  'user',
  'profiles',
  'networks',
  'network_mode',
  'labels',
  'logging',
  'deploy',
  'hostname',
  'domainname',
  'extra_hosts',
  'dns',
  'dns_search',
  'cap_add',
  'cap_drop',
  'privileged',
  'ulimits',
  'stop_grace_period',
  'stop_signal',
  'tty',
  'stdin_open',
  'init',
  'shm_size',
  'tmpfs',
  'sysctls',
  'secrets',
  'configs',
  'mem_limit',
  'memswap_limit',
  'mem_reservation',
  'cpus',
  'cpu_shares',
  'pull_policy',
  'platform',
  'read_only',
  'security_opt',
  'devices',
  'links',
  'external_links',
  'pid',
  'ipc',
  'userns_mode',
  'group_add',
  'scale',
  'oom_score_adj',
  'annotations',
  'attach',
  'develop',
]);

export function loadComposeProject(sandbox: DropletSandbox, options: ComposeOptions): ComposeProject {
  const warnings: string[] = [];
  const files = composeFiles(sandbox, options);
  const workingDir = options.projectDirectory ? path.posix.resolve(options.cwd, options.projectDirectory) : path.posix.dirname(files[0]!);
  const dotEnv = projectEnv(sandbox, workingDir, options);
  const lookup = (name: string) => options.env[name] ?? dotEnv[name];
  const warned = new Set<string>();
  const warn = (message: string) => {
    if (!warned.has(message)) warnings.push(message);
    warned.add(message);
  };

  let model: Record<string, unknown> = {};
  for (const file of files) {
    const parsed = parseYaml(sandbox, file);
    const interpolated = interpolateAll(parsed, lookup, warn, file);
    model = merge(model, interpolated) as Record<string, unknown>;
  }

  for (const key of Object.keys(model)) {
    if (!TOP_LEVEL.has(key) && !key.startsWith('x-'))
      throw new ComposeError(`validating ${files[0]}: (root) additional property ${key} is not allowed`);
  }
  if ('version' in model)
    warnings.push(`${files[0]}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`);
  const name = projectName(options, model, workingDir);
  const services = asMap(model.services, 'services', files[0]!);
  if (!services || Object.keys(services).length === 0) throw new ComposeError('no service selected');
  const volumes = namedVolumes(model.volumes, name, files[0]!);
  const profiles = new Set([...options.profiles, ...(lookup('COMPOSE_PROFILES') ?? '').split(',').filter(Boolean)]);

  const result: ComposeService[] = [];
  for (const [serviceName, raw] of Object.entries(services)) {
    if (!/^[a-zA-Z0-9._-]+$/.test(serviceName))
      throw new ComposeError(`invalid service name ${JSON.stringify(serviceName)}: only [a-zA-Z0-9._-] are allowed`);
    const definition = asMap(raw, `services.${serviceName}`, files[0]!) ?? {};
    const wanted = asStringList(definition.profiles, `services.${serviceName}.profiles`);
    if (wanted.length > 0 && !wanted.some((profile) => profiles.has(profile))) continue;
    result.push(normaliseService(sandbox, serviceName, definition, { project: name, workingDir, volumes, lookup, file: files[0]! }));
  }
  const known = new Set(Object.keys(services));
  for (const service of result) {
    for (const dependency of service.dependsOn) {
      if (!known.has(dependency))
        throw new ComposeError(`service "${service.name}" depends on undefined service "${dependency}": invalid compose project`);
    }
  }
  const names = new Map<string, string>();
  for (const service of result) {
    const other = names.get(service.containerName);
    if (other)
      throw new ComposeError(`services.${service.name}: container name "${service.containerName}" is already in use by service ${other}`);
    names.set(service.containerName, service.name);
  }
  return { name, workingDir, configFiles: files, services: dependencyOrder(result), volumes, warnings };
}

function composeFiles(sandbox: DropletSandbox, options: ComposeOptions): string[] {
  const given = options.files.length > 0 ? options.files : (options.env.COMPOSE_FILE ?? '').split(':').filter(Boolean);
  if (given.length > 0) {
    return given.map((file) => {
      const full = path.posix.resolve(options.cwd, file);
      if (!existsSync(hostPath(sandbox, full))) throw new ComposeError(`open ${full}: no such file or directory`);
      return full;
    });
  }
  const dir = options.projectDirectory ? path.posix.resolve(options.cwd, options.projectDirectory) : options.cwd;
  for (const candidate of DEFAULT_FILES) {
    const full = path.posix.join(dir, candidate);
    if (existsSync(hostPath(sandbox, full))) return [full];
  }
  throw new ComposeError('no configuration file provided: not found');
}

function projectEnv(sandbox: DropletSandbox, workingDir: string, options: ComposeOptions): Record<string, string> {
  const files =
    options.envFiles.length > 0
      ? options.envFiles.map((file) => path.posix.resolve(options.cwd, file))
      : [path.posix.join(workingDir, '.env')];
  let env: Record<string, string> = {};
  for (const file of files) {
    const host = hostPath(sandbox, file);
    if (!existsSync(host)) {
      if (options.envFiles.length > 0) throw new ComposeError(`couldn't find env file: ${file}`);
      continue;
    }
    try {
      env = { ...env, ...parseEnvFile(readFileSync(host, 'utf8'), (name) => options.env[name] ?? env[name], file) };
    } catch (error) {
      throw new ComposeError(`failed to read ${file}: ${(error as Error).message}`);
    }
  }
  return env;
}

function parseYaml(sandbox: DropletSandbox, file: string): Record<string, unknown> {
  const text = readFileSync(hostPath(sandbox, file), 'utf8');
  const document = YAML.parseDocument(text, { merge: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const error = document.errors[0]!;
    const line = error.linePos?.[0].line;
    throw new ComposeError(`yaml: ${file}${line ? `: line ${line}` : ''}: ${error.message.split('\n')[0]}`);
  }
  const value: unknown = document.toJS({ maxAliasCount: 1000 });
  if (value === null || value === undefined) throw new ComposeError(`${file}: empty compose file`);
  if (typeof value !== 'object' || Array.isArray(value)) throw new ComposeError(`${file}: top-level object must be a mapping`);
  return value as Record<string, unknown>;
}

function interpolateAll(
  value: unknown,
  lookup: (name: string) => string | undefined,
  warn: (message: string) => void,
  file: string,
): unknown {
  if (typeof value === 'string') {
    try {
      return interpolate(value, lookup, warn);
    } catch (error) {
      if (error instanceof InterpolationError) throw new ComposeError(`${file}: ${error.message}`);
      throw error;
    }
  }
  if (Array.isArray(value)) return value.map((item) => interpolateAll(item, lookup, warn, file));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateAll(item, lookup, warn, file)]));
  }
  return value;
}

/** Later files override earlier ones key by key; lists are replaced. */
function merge(base: unknown, override: unknown): unknown {
  if (isMap(base) && isMap(override)) {
    const result: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) result[key] = key in result ? merge(result[key], value) : value;
    return result;
  }
  return override;
}

function projectName(options: ComposeOptions, model: Record<string, unknown>, workingDir: string): string {
  const raw =
    options.projectName ??
    options.env.COMPOSE_PROJECT_NAME ??
    (typeof model.name === 'string' ? model.name : undefined) ??
    path.posix.basename(workingDir);
  const name = raw.toLowerCase().replace(/[^a-z0-9_-]/g, '');
  if (!/^[a-z0-9]/.test(name)) {
    throw new ComposeError(
      `project name ${JSON.stringify(raw)} must contain only lowercase letters, digits, dashes and underscores, and begin with a letter or digit`,
    );
  }
  return name;
}

function namedVolumes(raw: unknown, project: string, file: string): Record<string, string> {
  const map = asMap(raw, 'volumes', file) ?? {};
  const result: Record<string, string> = {};
  for (const [volume, definition] of Object.entries(map)) {
    const options = asMap(definition, `volumes.${volume}`, file) ?? {};
    const external = options.external === true;
    const name = typeof options.name === 'string' ? options.name : external ? volume : `${project}_${volume}`;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name))
      throw new ComposeError(`volumes.${volume}: invalid volume name ${JSON.stringify(name)}`);
    result[volume] = path.posix.join(VOLUMES_DIR, name);
  }
  return result;
}

interface ServiceContext {
  project: string;
  workingDir: string;
  volumes: Record<string, string>;
  lookup: (name: string) => string | undefined;
  file: string;
}

function normaliseService(sandbox: DropletSandbox, name: string, definition: Record<string, unknown>, ctx: ServiceContext): ComposeService {
  const where = `services.${name}`;
  for (const key of Object.keys(definition)) {
    if (!SERVICE_KEYS.has(key) && !key.startsWith('x-'))
      throw new ComposeError(`validating ${ctx.file}: ${where} additional property ${key} is not allowed`);
  }
  if (typeof definition.image !== 'string' || definition.image === '') {
    if (definition.build !== undefined)
      throw new ComposeError(
        `service "${name}" has a build section and no image: building images is not supported in a local cloud droplet; push the image and name it`,
      );
    throw new ComposeError(`service "${name}" has neither an image nor a build context specified: invalid compose project`);
  }
  try {
    parseImage(definition.image);
  } catch (error) {
    throw new ComposeError(`${where}.image: ${(error as Error).message}`);
  }
  const containerName = definition.container_name === undefined ? `${ctx.project}-${name}-1` : String(definition.container_name);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(containerName))
    throw new ComposeError(`${where}.container_name: invalid container name ${JSON.stringify(containerName)}`);
  const env = { ...envFiles(sandbox, definition.env_file, where, ctx), ...environment(definition.environment, where, ctx) };
  const healthcheck = asMap(definition.healthcheck, `${where}.healthcheck`, ctx.file);
  const restart = definition.restart === undefined ? 'no' : String(definition.restart);
  if (!/^(no|always|unless-stopped|on-failure(:\d+)?)$/.test(restart))
    throw new ComposeError(`${where}.restart: invalid restart policy ${JSON.stringify(restart)}`);
  const spec: ContainerSpec = {
    image: definition.image,
    command: commandOf(definition.command, `${where}.command`),
    entrypoint: commandOf(definition.entrypoint, `${where}.entrypoint`),
    env,
    ports: asList(definition.ports, `${where}.ports`).map((port, index) => parsePort(port, `${where}.ports[${index}]`)),
    volumes: asList(definition.volumes, `${where}.volumes`).flatMap((volume, index) =>
      parseVolume(volume, `${where}.volumes[${index}]`, ctx),
    ),
    restart,
    healthcheck: healthcheck !== undefined && healthcheck.disable !== true,
    workingDir: typeof definition.working_dir === 'string' ? definition.working_dir : undefined,
    user: definition.user === undefined ? undefined : String(definition.user),
  };
  const published = spec.ports.flatMap((port) => (port.published ? [`${port.published}/${port.protocol}`] : []));
  const duplicate = published.find((port, index) => published.indexOf(port) !== index);
  if (duplicate) throw new ComposeError(`${where}.ports: port ${duplicate} is published twice`);
  return { name, containerName, spec, dependsOn: dependsOn(definition.depends_on, `${where}.depends_on`) };
}

function envFiles(sandbox: DropletSandbox, raw: unknown, where: string, ctx: ServiceContext): Record<string, string> {
  if (raw === undefined) return {};
  const entries = (Array.isArray(raw) ? raw : [raw]).map((entry, index) => {
    if (typeof entry === 'string') return { file: entry, required: true };
    const map = asMap(entry, `${where}.env_file[${index}]`, ctx.file);
    if (!map || typeof map.path !== 'string') throw new ComposeError(`${where}.env_file[${index}] must be a path or {path, required}`);
    return { file: map.path, required: map.required !== false };
  });
  let env: Record<string, string> = {};
  for (const { file, required } of entries) {
    const full = path.posix.resolve(ctx.workingDir, file);
    const host = hostPath(sandbox, full);
    if (!existsSync(host)) {
      if (required) throw new ComposeError(`env file ${full} not found: stat ${full}: no such file or directory`);
      continue;
    }
    try {
      env = { ...env, ...parseEnvFile(readFileSync(host, 'utf8'), ctx.lookup, full) };
    } catch (error) {
      throw new ComposeError(`failed to read ${full}: ${(error as Error).message}`);
    }
  }
  return env;
}

function environment(raw: unknown, where: string, ctx: ServiceContext): Record<string, string> {
  const result: Record<string, string> = {};
  if (raw === undefined || raw === null) return result;
  if (Array.isArray(raw)) {
    raw.forEach((entry, index) => {
      if (typeof entry !== 'string') throw new ComposeError(`${where}.environment[${index}] must be a string`);
      const eq = entry.indexOf('=');
      if (eq === -1) {
        // A name alone takes its value from the caller's environment, or is left out.
        const value = ctx.lookup(entry);
        if (value !== undefined) result[entry] = value;
      } else {
        result[entry.slice(0, eq)] = entry.slice(eq + 1);
      }
    });
    return result;
  }
  const map = asMap(raw, `${where}.environment`, ctx.file)!;
  for (const [key, value] of Object.entries(map)) {
    if (value === null || value === undefined) {
      const inherited = ctx.lookup(key);
      if (inherited !== undefined) result[key] = inherited;
    } else if (typeof value === 'object') {
      throw new ComposeError(`${where}.environment.${key} must be a string, number, boolean or null`);
    } else {
      result[key] = String(value);
    }
  }
  return result;
}

function commandOf(raw: unknown, where: string): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') {
    try {
      return splitWords(raw);
    } catch (error) {
      throw new ComposeError(`${where}: ${(error as Error).message}`);
    }
  }
  if (Array.isArray(raw) && raw.every((item) => ['string', 'number', 'boolean'].includes(typeof item))) return raw.map(String);
  throw new ComposeError(`${where} must be a string or a list of strings`);
}

function parsePort(raw: unknown, where: string): PortBinding {
  const number = (text: string, what: string): number => {
    if (/^\d+-\d+$/.test(text)) throw new ComposeError(`${where}: port ranges (${text}) are not supported`);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < 1 || value > 65535) throw new ComposeError(`${where}: invalid ${what} port ${JSON.stringify(text)}`);
    return value;
  };
  if (typeof raw === 'number') return { target: number(String(raw), 'container'), protocol: 'tcp' };
  if (typeof raw === 'string') {
    const [spec, protocol = 'tcp'] = raw.split('/') as [string, string | undefined];
    if (protocol !== 'tcp' && protocol !== 'udp') throw new ComposeError(`${where}: invalid protocol ${JSON.stringify(protocol)}`);
    // An IPv6 host address comes in brackets: [::1]:8080:80.
    const ipv6 = /^\[([^\]]*)\]/.exec(spec)?.[1];
    const parts = spec.replace(/^\[[^\]]*\]/, 'ip').split(':');
    if (parts.length > 3 || parts.some((part, index) => part === '' && index !== 1))
      throw new ComposeError(`${where}: invalid port mapping ${JSON.stringify(raw)}`);
    const target = number(parts[parts.length - 1]!, 'container');
    const published = parts.length >= 2 && parts[parts.length - 2] !== '' ? number(parts[parts.length - 2]!, 'published') : undefined;
    const hostIp = parts.length === 3 ? hostAddress(ipv6 ?? parts[0]!, where) : undefined;
    return { published, ...(hostIp === undefined ? {} : { hostIp }), target, protocol };
  }
  const map = isMap(raw) ? raw : undefined;
  if (!map || map.target === undefined) throw new ComposeError(`${where} must be "published:target", a port number or {target, published}`);
  const protocol = map.protocol === undefined ? 'tcp' : String(map.protocol);
  if (protocol !== 'tcp' && protocol !== 'udp') throw new ComposeError(`${where}: invalid protocol ${JSON.stringify(protocol)}`);
  return {
    target: number(String(map.target), 'container'),
    published: map.published === undefined ? undefined : number(String(map.published), 'published'),
    ...(map.host_ip === undefined ? {} : { hostIp: hostAddress(String(map.host_ip), `${where}.host_ip`) }),
    protocol,
  };
}

/** A port's host address as compose takes it: an IPv4 or IPv6 address, nothing else. */
function hostAddress(text: string, where: string): string {
  if (isIP(text) === 0) throw new ComposeError(`${where}: invalid IP address ${JSON.stringify(text)}`);
  return text;
}

function parseVolume(raw: unknown, where: string, ctx: ServiceContext): VolumeMount[] {
  let source: string | undefined;
  let target: string;
  let readOnly = false;
  if (typeof raw === 'string') {
    const parts = raw.split(':');
    if (parts.length > 3 || parts.some((part) => part === ''))
      throw new ComposeError(`${where}: invalid volume specification ${JSON.stringify(raw)}`);
    if (parts.length === 1) {
      target = parts[0]!;
    } else {
      source = parts[0]!;
      target = parts[1]!;
      readOnly = (parts[2] ?? '').split(',').includes('ro');
    }
  } else if (isMap(raw) && typeof raw.target === 'string') {
    target = raw.target;
    source = typeof raw.source === 'string' ? raw.source : undefined;
    readOnly = raw.read_only === true;
    if (raw.type === 'tmpfs') return [];
  } else {
    throw new ComposeError(`${where} must be "source:target[:ro]" or {type, source, target}`);
  }
  if (!target.startsWith('/')) throw new ComposeError(`${where}: the container path ${JSON.stringify(target)} must be absolute`);
  if (source === undefined) return []; // An anonymous volume: the container's own folder already keeps it.
  if (source.startsWith('/') || source.startsWith('.') || source.startsWith('~')) {
    const expanded = source.startsWith('~') ? `/root${source.slice(1)}` : source;
    return [{ source: path.posix.resolve(ctx.workingDir, expanded), target: path.posix.normalize(target), readOnly }];
  }
  const folder = ctx.volumes[source];
  if (!folder) throw new ComposeError(`service "${where.split('.')[1]}" refers to undefined volume ${source}: invalid compose project`);
  return [{ source: folder, target: path.posix.normalize(target), readOnly, volumeName: path.posix.basename(folder) }];
}

function dependsOn(raw: unknown, where: string): string[] {
  if (raw === undefined || raw === null) return [];
  if (Array.isArray(raw)) return asStringList(raw, where);
  if (isMap(raw)) return Object.keys(raw);
  throw new ComposeError(`${where} must be a list of services or a mapping`);
}

/** Orders services so each comes after what it depends on; a cycle is an error. */
function dependencyOrder(services: ComposeService[]): ComposeService[] {
  const byName = new Map(services.map((service) => [service.name, service]));
  const ordered: ComposeService[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (service: ComposeService, trail: string[]) => {
    if (state.get(service.name) === 'done') return;
    if (state.get(service.name) === 'visiting')
      throw new ComposeError(`dependency cycle detected: ${[...trail, service.name].join(' -> ')}`);
    state.set(service.name, 'visiting');
    for (const dependency of service.dependsOn) {
      const next = byName.get(dependency);
      if (next) visit(next, [...trail, service.name]);
    }
    state.set(service.name, 'done');
    ordered.push(service);
  };
  for (const service of services) visit(service, []);
  return ordered;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asMap(value: unknown, where: string, file: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isMap(value)) throw new ComposeError(`validating ${file}: ${where} must be a mapping`);
  return value;
}

function asList(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ComposeError(`${where} must be a list`);
  return value;
}

function asStringList(value: unknown, where: string): string[] {
  const list = asList(value, where);
  if (!list.every((item) => typeof item === 'string')) throw new ComposeError(`${where} must be a list of strings`);
  return list as string[];
}
