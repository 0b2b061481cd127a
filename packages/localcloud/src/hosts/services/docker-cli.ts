// The `docker` command inside a droplet: ps, pull, images, logs, exec, inspect, run -d, start,
// stop, restart, rm, version, and `docker compose` (handed to compose-cli). Messages and exit
// statuses follow the real command line closely enough for deploy scripts to behave the same.
import { isIP } from 'node:net';
import path from 'node:path';
import { allValues, flag, lastValue, parseArgs } from './args';
import { composeCommand } from './compose-cli';
import { DaemonError } from './containers';
import { inspectObject, psRow } from './container-views';
import { humanDuration, renderTemplate, table, TemplateError } from './format';
import { imageDigest, parseImage } from './image';
import { writeLog } from './logs';
import { UsageError, type Invocation, type Outcome } from './protocol';
import { execEnv, pullImage, tailOption, type DropletRuntime } from './runtime';
import type { ContainerRecord, ContainerSpec, PortBinding, VolumeMount } from './state';
import { VOLUMES_DIR } from './state';

export const DOCKER_VERSION = '24.0.7';

export async function dockerCommand(inv: Invocation, runtime: DropletRuntime): Promise<Outcome> {
  const [command, ...rest] = inv.request.args;
  try {
    switch (command) {
      case undefined:
      case '--help':
      case 'help':
        inv.io.out(USAGE);
        return 0;
      case '--version':
      case '-v':
        inv.io.out(`Docker version ${DOCKER_VERSION}, build localcloud\n`);
        return 0;
      case 'version':
        inv.io.out(
          `Client:\n Version:           ${DOCKER_VERSION}\n\nServer:\n Engine:\n  Version:          ${DOCKER_VERSION}\n  (localcloud droplet)\n`,
        );
        return 0;
      case 'info':
        inv.io.out(
          `Server:\n Containers: ${runtime.containers.all().length}\n  Running: ${runtime.containers.all().filter((r) => runtime.containers.isRunning(r)).length}\n Server Version: ${DOCKER_VERSION}\n Name: ${runtime.sandbox.name}\n`,
        );
        return 0;
      case 'compose':
        return await composeCommand({ ...inv, request: { ...inv.request, args: rest } }, runtime);
      case 'ps':
      case 'container':
        if (command === 'container' && rest[0] !== 'ls' && rest[0] !== 'ps')
          throw new UsageError(`docker container ${rest[0] ?? ''} is not supported here`, 125);
        return ps(inv, runtime, command === 'container' ? rest.slice(1) : rest);
      case 'pull':
        return await runtime.exclusive(async () => pull(inv, runtime, rest));
      case 'images':
        return images(inv, runtime, rest);
      case 'image':
      case 'system':
      case 'volume':
      case 'network':
        return housekeeping(inv, runtime, command, rest);
      case 'logs':
        return await logs(inv, runtime, rest);
      case 'exec':
        return exec(inv, runtime, rest);
      case 'inspect':
        return inspect(inv, runtime, rest);
      case 'run':
        return await runtime.exclusive(() => run(inv, runtime, rest));
      case 'start':
      case 'stop':
      case 'restart':
      case 'rm':
        return await runtime.exclusive(() => lifecycle(inv, runtime, command, rest));
      default:
        throw new UsageError(`docker: '${command}' is not a docker command.\nSee 'docker --help'`, 1);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      inv.io.err(`${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof DaemonError) {
      inv.io.err(`Error response from daemon: ${error.message}\n`);
      return 1;
    }
    if (error instanceof TemplateError) {
      inv.io.err(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

const USAGE = `Usage:  docker [OPTIONS] COMMAND

A self-sufficient runtime for containers (localcloud droplet)

Commands:
  compose     Docker Compose
  exec        Execute a command in a running container
  images      List images
  inspect     Return low-level information on Docker objects
  logs        Fetch the logs of a container
  ps          List containers
  pull        Download an image from a registry
  restart     Restart one or more containers
  rm          Remove one or more containers
  run         Create and run a new container (detached only)
  start       Start one or more stopped containers
  stop        Stop one or more running containers
`;

/** Flag mistakes exit with 125, as docker's own do. */
function usage(_command: string) {
  return { usageExit: 125 };
}

function ps(inv: Invocation, runtime: DropletRuntime, args: string[]): Outcome {
  const parsed = parseArgs(
    args,
    {
      'a|all': false,
      'q|quiet': false,
      'no-trunc': false,
      format: true,
      'f|filter': true,
      'n|last': true,
      'l|latest': false,
      's|size': false,
    },
    usage('ps'),
  );
  let records = runtime.containers.all();
  if (!flag(parsed, 'all'))
    records = records.filter((record) => runtime.containers.isRunning(record) || runtime.containers.isRestarting(record));
  for (const filter of allValues(parsed, 'filter')) records = records.filter(matchesFilter(runtime, filter));
  if (flag(parsed, 'latest')) records = records.slice(0, 1);
  const last = lastValue(parsed, 'last');
  if (last !== undefined) records = records.slice(0, Number(last));
  if (flag(parsed, 'quiet')) {
    inv.io.out(records.map((record) => (flag(parsed, 'no-trunc') ? record.id : record.id.slice(0, 12)) + '\n').join(''));
    return 0;
  }
  const address = runtime.sandbox.address;
  const format = lastValue(parsed, 'format');
  if (format === 'json') {
    inv.io.out(records.map((record) => JSON.stringify(psRow(runtime.containers, record, address)) + '\n').join(''));
    return 0;
  }
  if (format && format !== 'table') {
    const template = format.replace(/^table\s+/, '');
    inv.io.out(records.map((record) => renderTemplate(template, psRow(runtime.containers, record, address)) + '\n').join(''));
    return 0;
  }
  const rows = records.map((record) => {
    const row = psRow(runtime.containers, record, address);
    return [
      String(row.ID),
      String(row.Image),
      String(row.Command),
      String(row.RunningFor),
      String(row.Status),
      String(row.Ports),
      String(row.Names),
    ];
  });
  inv.io.out(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], rows));
  return 0;
}

function matchesFilter(runtime: DropletRuntime, filter: string): (record: ContainerRecord) => boolean {
  const eq = filter.indexOf('=');
  if (eq === -1) throw new UsageError(`Error response from daemon: invalid filter '${filter}'`, 1);
  const key = filter.slice(0, eq);
  const value = filter.slice(eq + 1);
  switch (key) {
    case 'name':
      return (record) => record.name.includes(value.replace(/^\^|\$$/g, ''));
    case 'id':
      return (record) => record.id.startsWith(value);
    case 'status':
      return (record) => (runtime.containers.isRunning(record) ? 'running' : record.status) === value;
    case 'ancestor':
      return (record) => record.spec.image === value || record.spec.image.split(':')[0] === value;
    case 'label': {
      const [labelKey, labelValue] = value.split('=') as [string, string | undefined];
      const labels = (record: ContainerRecord): Record<string, string> =>
        record.project ? { 'com.docker.compose.project': record.project, 'com.docker.compose.service': record.service ?? '' } : {};
      return (record) => labelKey in labels(record) && (labelValue === undefined || labels(record)[labelKey] === labelValue);
    }
    default:
      throw new UsageError(`Error response from daemon: invalid filter '${key}'`, 1);
  }
}

function pull(inv: Invocation, runtime: DropletRuntime, args: string[]): Outcome {
  const parsed = parseArgs(args, { 'q|quiet': false, 'a|all-tags': false, platform: true }, usage('pull'));
  const reference = parsed.positionals[0];
  if (!reference || parsed.positionals.length > 1)
    throw new UsageError('"docker pull" requires exactly 1 argument.\nSee \'docker pull --help\'.', 1);
  const image = parseImage(withTag(reference));
  const { digest } = pullImage(runtime, image.reference);
  if (flag(parsed, 'quiet')) {
    inv.io.out(`${image.reference}\n`);
    return 0;
  }
  inv.io.out(
    `${image.tag}: Pulling from ${image.repository}\nDigest: ${digest}\nStatus: Downloaded newer image for ${image.reference}\n${image.reference}\n`,
  );
  return 0;
}

function withTag(reference: string): string {
  const last = reference.split('/').pop()!;
  return last.includes(':') || reference.includes('@') ? reference : `${reference}:latest`;
}

function images(inv: Invocation, runtime: DropletRuntime, args: string[]): Outcome {
  const parsed = parseArgs(args, { 'q|quiet': false, 'a|all': false, format: true }, usage('images'));
  const entries = Object.entries(runtime.state.images).map(([reference, pulled]) => {
    const image = parseImage(reference);
    return {
      Repository: reference.slice(0, reference.length - (reference.endsWith(`:${image.tag}`) ? image.tag.length + 1 : 0)),
      Tag: image.tag,
      ID: imageDigest(image).slice(7, 19),
      CreatedSince: `${humanDuration(Date.now() - Date.parse(pulled))} ago`,
      Size: '0B',
    };
  });
  if (flag(parsed, 'quiet')) inv.io.out(entries.map((entry) => `${entry.ID}\n`).join(''));
  else if (lastValue(parsed, 'format'))
    inv.io.out(entries.map((entry) => renderTemplate(lastValue(parsed, 'format')!, entry) + '\n').join(''));
  else
    inv.io.out(
      table(
        ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
        entries.map((e) => [e.Repository, e.Tag, e.ID, e.CreatedSince, e.Size]),
      ),
    );
  return 0;
}

/** Clean-up commands deploy scripts run after a release: nothing to reclaim here. */
function housekeeping(inv: Invocation, runtime: DropletRuntime, command: string, args: string[]): Outcome {
  const sub = args[0];
  if (sub === 'prune') {
    inv.io.out('Total reclaimed space: 0B\n');
    return 0;
  }
  if (command === 'image' && sub === 'ls') return images(inv, runtime, args.slice(1));
  if (command === 'image' && sub === 'pull') return pull(inv, runtime, args.slice(1));
  if ((command === 'volume' || command === 'network') && sub === 'ls') {
    inv.io.out(command === 'volume' ? 'DRIVER    VOLUME NAME\n' : 'NETWORK ID     NAME      DRIVER    SCOPE\n');
    return 0;
  }
  throw new UsageError(`docker ${command} ${sub ?? ''}: not supported in a local cloud droplet`, 1);
}

async function logs(inv: Invocation, runtime: DropletRuntime, args: string[]): Promise<Outcome> {
  const parsed = parseArgs(
    args,
    { 'f|follow': false, 'n|tail': true, 't|timestamps': false, since: true, until: true, details: false },
    usage('logs'),
  );
  const reference = parsed.positionals[0];
  if (!reference || parsed.positionals.length > 1)
    throw new UsageError('"docker logs" requires exactly 1 argument.\nSee \'docker logs --help\'.', 1);
  const record = runtime.containers.get(reference);
  await writeLog(inv.io, runtime.containers.logFile(record), {
    tail: tailOption(lastValue(parsed, 'tail')),
    follow: flag(parsed, 'follow'),
    signal: inv.signal,
    running: () => runtime.containers.isRunning(record),
  });
  return 0;
}

function exec(inv: Invocation, runtime: DropletRuntime, args: string[]): Outcome {
  const parsed = parseArgs(
    args,
    {
      'i|interactive': false,
      't|tty': false,
      'd|detach': false,
      'e|env': true,
      'env-file': true,
      'u|user': true,
      'w|workdir': true,
      privileged: false,
      'detach-keys': true,
    },
    { stopAtPositional: true, usageExit: 125 },
  );
  const [reference, ...command] = parsed.positionals;
  if (!reference || command.length === 0)
    throw new UsageError('"docker exec" requires at least 2 arguments.\nSee \'docker exec --help\'.', 1);
  if (flag(parsed, 'detach'))
    throw new UsageError('docker exec -d is not supported in a local cloud droplet; use nohup ... & inside docker exec', 125);
  const record = runtime.containers.get(reference);
  const env = execEnv(inv, runtime, allValues(parsed, 'env'), allValues(parsed, 'env-file'));
  return {
    exec: runtime.containers.exec(record, command, {
      interactive: flag(parsed, 'interactive'),
      env,
      user: lastValue(parsed, 'user'),
      workdir: lastValue(parsed, 'workdir'),
    }),
  };
}

function inspect(inv: Invocation, runtime: DropletRuntime, args: string[]): Outcome {
  const parsed = parseArgs(args, { 'f|format': true, type: true, 's|size': false }, usage('inspect'));
  if (parsed.positionals.length === 0)
    throw new UsageError('"docker inspect" requires at least 1 argument.\nSee \'docker inspect --help\'.', 1);
  const format = lastValue(parsed, 'format');
  const found: Record<string, unknown>[] = [];
  let missing = false;
  for (const reference of parsed.positionals) {
    const record = runtime.containers.find(reference);
    if (!record) {
      inv.io.err(`Error: No such object: ${reference}\n`);
      missing = true;
      continue;
    }
    found.push(inspectObject(runtime.containers, record, runtime.sandbox.address));
  }
  if (format) inv.io.out(found.map((object) => renderTemplate(format, object) + '\n').join(''));
  else inv.io.out(JSON.stringify(found, null, 4) + '\n');
  return missing ? 1 : 0;
}

async function run(inv: Invocation, runtime: DropletRuntime, args: string[]): Promise<Outcome> {
  const parsed = parseArgs(
    args,
    {
      'd|detach': false,
      name: true,
      'p|publish': true,
      'e|env': true,
      'env-file': true,
      'v|volume': true,
      restart: true,
      'w|workdir': true,
      'u|user': true,
      'i|interactive': false,
      't|tty': false,
      network: true,
      'l|label': true,
      'health-cmd': true,
      hostname: true,
      pull: true,
      rm: false,
    },
    { stopAtPositional: true, usageExit: 125 },
  );
  const [reference, ...command] = parsed.positionals;
  if (!reference) throw new UsageError('"docker run" requires at least 1 argument.\nSee \'docker run --help\'.', 1);
  if (!flag(parsed, 'detach'))
    throw new UsageError(
      'only detached containers (docker run -d) are supported in a local cloud droplet; use docker exec for one-off commands',
      125,
    );
  const image = parseImage(withTag(reference));
  try {
    pullImage(runtime, image.reference);
  } catch (error) {
    if (error instanceof DaemonError) {
      inv.io.err(`Unable to find image '${image.reference}' locally\ndocker: Error response from daemon: ${error.message}.\n`);
      return 125;
    }
    throw error;
  }
  const name =
    lastValue(parsed, 'name') ??
    `${ADJECTIVES[Math.floor(Math.random() * ADJECTIVES.length)]}_${NAMES[Math.floor(Math.random() * NAMES.length)]}`;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name))
    throw new UsageError(
      `docker: Error response from daemon: Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed.`,
      125,
    );
  const spec: ContainerSpec = {
    image: image.reference,
    command: command.length > 0 ? command : undefined,
    env: execEnv(inv, runtime, allValues(parsed, 'env'), allValues(parsed, 'env-file')),
    ports: allValues(parsed, 'publish').map(runPort),
    volumes: allValues(parsed, 'volume').map((volume) => runVolume(volume, inv.request.cwd)),
    restart: lastValue(parsed, 'restart') ?? 'no',
    healthcheck: lastValue(parsed, 'health-cmd') !== undefined,
    workingDir: lastValue(parsed, 'workdir'),
    user: lastValue(parsed, 'user'),
  };
  if (!/^(no|always|unless-stopped|on-failure(:\d+)?)$/.test(spec.restart))
    throw new UsageError(`docker: invalid restart policy '${spec.restart}'`, 125);
  const record = runtime.containers.create({ name, spec });
  try {
    await runtime.containers.start(record);
  } catch (error) {
    inv.io.err(`docker: Error response from daemon: ${(error as Error).message}.\n`);
    return 125;
  }
  inv.io.out(`${record.id}\n`);
  return 0;
}

function runPort(spec: string): PortBinding {
  const match = /^(?:(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:.]+\]):)?(?:(\d*):)?(\d+)(?:\/(tcp|udp))?$/.exec(spec);
  const hostIp = match?.[1]?.replace(/^\[|\]$/g, '');
  if (!match || (hostIp !== undefined && isIP(hostIp) === 0)) throw new UsageError(`docker: invalid publish spec: ${spec}`, 125);
  return {
    published: match[2] ? Number(match[2]) : undefined,
    ...(hostIp === undefined ? {} : { hostIp }),
    target: Number(match[3]),
    protocol: (match[4] as 'tcp' | 'udp' | undefined) ?? 'tcp',
  };
}

function runVolume(spec: string, cwd: string): VolumeMount {
  const [source, target, mode] = spec.split(':');
  if (!source || !target || !target.startsWith('/'))
    throw new UsageError(`docker: invalid volume spec: ${spec} (use /source:/target or name:/target)`, 125);
  if (source.startsWith('/') || source.startsWith('.')) return { source: path.posix.resolve(cwd, source), target, readOnly: mode === 'ro' };
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(source)) throw new UsageError(`docker: invalid volume name: ${source}`, 125);
  return { source: path.posix.join(VOLUMES_DIR, source), target, readOnly: mode === 'ro', volumeName: source };
}

const ADJECTIVES = ['brave', 'calm', 'eager', 'fond', 'keen', 'quiet', 'sharp', 'witty'];
const NAMES = ['curie', 'hopper', 'lovelace', 'noether', 'ritchie', 'turing'];

async function lifecycle(
  inv: Invocation,
  runtime: DropletRuntime,
  command: 'start' | 'stop' | 'restart' | 'rm',
  args: string[],
): Promise<Outcome> {
  const parsed = parseArgs(
    args,
    { 'f|force': false, 'v|volumes': false, 't|time': true, s: true, signal: true, 'a|attach': false, 'i|interactive': false },
    usage(command),
  );
  if (parsed.positionals.length === 0)
    throw new UsageError(`"docker ${command}" requires at least 1 argument.\nSee 'docker ${command} --help'.`, 1);
  let failed = false;
  for (const reference of parsed.positionals) {
    try {
      const record = runtime.containers.get(reference);
      if (command === 'start') await runtime.containers.start(record);
      else if (command === 'stop') await runtime.containers.stop(record);
      else if (command === 'restart') await runtime.containers.restart(record);
      else {
        if (runtime.containers.isRunning(record) && !flag(parsed, 'force')) {
          throw new DaemonError(
            `You cannot remove a running container ${record.id}. Stop the container before attempting removal or force remove`,
          );
        }
        await runtime.containers.remove(record, flag(parsed, 'volumes'));
      }
      inv.io.out(`${reference}\n`);
    } catch (error) {
      if (!(error instanceof DaemonError)) throw error;
      inv.io.err(`Error response from daemon: ${error.message}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
