// How containers look to the docker and compose command lines: status texts, port lists, `ps`
// rows, compose's JSON, and the `docker inspect` document (the fields scripts read).
import type { Containers } from './containers';
import { humanDuration } from './format';
import { imageDigest, parseImage } from './image';
import { isLoopbackHostIp } from '../isolation/droplet-loopback';
import type { ContainerRecord, PortBinding } from './state';

export function commandOf(record: ContainerRecord): string {
  const command = [...(record.spec.entrypoint ?? ['docker-entrypoint.sh']), ...(record.spec.command ?? [])].join(' ');
  return command;
}

export function stateOf(containers: Containers, record: ContainerRecord): string {
  if (containers.isRunning(record)) return 'running';
  if (containers.isRestarting(record)) return 'restarting';
  return record.status === 'created' ? 'created' : 'exited';
}

export function statusText(containers: Containers, record: ContainerRecord, now = Date.now()): string {
  const state = stateOf(containers, record);
  if (state === 'running') {
    const health = containers.health(record);
    return `Up ${humanDuration(now - Date.parse(record.startedAt ?? record.created))}${health ? ` (${health})` : ''}`;
  }
  const since = humanDuration(now - Date.parse(record.finishedAt ?? record.created));
  if (state === 'restarting') return `Restarting (${record.exitCode}) ${since} ago`;
  if (state === 'created') return 'Created';
  return `Exited (${record.exitCode}) ${since} ago`;
}

/** The host address a published port shows: the loopback address compose named, else the droplet's address. */
export function shownHostIp(port: PortBinding, address: string): string {
  return port.hostIp !== undefined && isLoopbackHostIp(port.hostIp) ? port.hostIp : address;
}

export function portsText(containers: Containers, record: ContainerRecord, address: string): string {
  const ports = containers.isRunning(record) ? (record.boundPorts ?? []) : [];
  return ports
    .map((port) =>
      port.published
        ? `${shownHostIp(port, address)}:${port.published}->${port.target}/${port.protocol}`
        : `${port.target}/${port.protocol}`,
    )
    .join(', ');
}

export function labelsOf(record: ContainerRecord): Record<string, string> {
  if (!record.project) return {};
  return {
    'com.docker.compose.project': record.project,
    'com.docker.compose.service': record.service ?? '',
    'com.docker.compose.container-number': '1',
    'com.docker.compose.oneoff': 'False',
    'com.docker.compose.config-hash': record.configHash,
    'com.docker.compose.image': imageDigest(parseImage(record.spec.image)),
    'com.docker.compose.project.config_files': (record.configFiles ?? []).join(','),
    'com.docker.compose.project.working_dir': record.workingDir ?? '',
  };
}

/** The fields `docker ps --format` templates read. */
export function psRow(containers: Containers, record: ContainerRecord, address: string): Record<string, unknown> {
  const labels = labelsOf(record);
  return {
    ID: record.id.slice(0, 12),
    Image: record.spec.image,
    Command: `"${truncate(commandOf(record), 20)}"`,
    CreatedAt: new Date(record.created)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' +0000 UTC'),
    RunningFor: `${humanDuration(Date.now() - Date.parse(record.created))} ago`,
    Ports: portsText(containers, record, address),
    State: stateOf(containers, record),
    Status: statusText(containers, record),
    Size: '0B',
    Names: record.name,
    Labels: Object.entries(labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(','),
    Mounts: record.spec.volumes.map((mount) => mount.volumeName ?? mount.source).join(','),
    Networks: record.project ? `${record.project}_default` : 'bridge',
  };
}

/** One line of `docker compose ps --format json`. */
export function composePsObject(containers: Containers, record: ContainerRecord, address: string): Record<string, unknown> {
  const row = psRow(containers, record, address);
  const running = containers.isRunning(record);
  return {
    ID: record.id.slice(0, 12),
    Name: record.name,
    Image: record.spec.image,
    Command: commandOf(record),
    Project: record.project ?? '',
    Service: record.service ?? '',
    Created: Math.floor(Date.parse(record.created) / 1000),
    CreatedAt: row.CreatedAt,
    State: stateOf(containers, record),
    Status: row.Status,
    Health: containers.health(record) ?? '',
    ExitCode: running ? 0 : record.exitCode,
    Publishers: (running ? (record.boundPorts ?? []) : []).map((port) => ({
      URL: shownHostIp(port, address),
      TargetPort: port.target,
      PublishedPort: port.published ?? 0,
      Protocol: port.protocol,
    })),
    Labels: row.Labels,
    LocalVolumes: String(record.spec.volumes.filter((mount) => mount.volumeName).length),
    Mounts: row.Mounts,
    Networks: row.Networks,
    Ports: row.Ports,
    RunningFor: row.RunningFor,
    Size: '0B',
  };
}

/** `docker inspect`'s document for a container. */
export function inspectObject(containers: Containers, record: ContainerRecord, address: string): Record<string, unknown> {
  const image = parseImage(record.spec.image);
  const running = containers.isRunning(record);
  const health = containers.health(record);
  const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const port of record.spec.ports) ports[`${port.target}/${port.protocol}`] = null;
  if (running)
    for (const port of record.boundPorts ?? [])
      ports[`${port.target}/${port.protocol}`] = [{ HostIp: shownHostIp(port, address), HostPort: String(port.published ?? '') }];
  const command = commandOf(record).split(' ');
  return {
    Id: record.id,
    Created: record.created,
    Path: command[0],
    Args: command.slice(1),
    State: {
      Status: stateOf(containers, record),
      Running: running,
      Paused: false,
      Restarting: containers.isRestarting(record),
      OOMKilled: false,
      Dead: false,
      Pid: running ? (record.process?.pid ?? 0) : 0,
      ExitCode: running ? 0 : record.exitCode,
      Error: '',
      StartedAt: record.startedAt ?? '0001-01-01T00:00:00Z',
      FinishedAt: running ? '0001-01-01T00:00:00Z' : (record.finishedAt ?? '0001-01-01T00:00:00Z'),
      ...(health ? { Health: { Status: health, FailingStreak: health === 'unhealthy' ? 1 : 0, Log: [] } } : {}),
    },
    Image: imageDigest(image),
    Name: `/${record.name}`,
    RestartCount: 0,
    HostConfig: {
      RestartPolicy: { Name: record.spec.restart.split(':')[0], MaximumRetryCount: Number(record.spec.restart.split(':')[1] ?? 0) },
      Binds: record.spec.volumes.map((m) => `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`),
    },
    Mounts: record.spec.volumes.map((mount) => ({
      Type: mount.volumeName ? 'volume' : 'bind',
      Name: mount.volumeName,
      Source: mount.source,
      Destination: mount.target,
      RW: !mount.readOnly,
    })),
    Config: {
      Hostname: record.id.slice(0, 12),
      Env: Object.entries(record.spec.env).map(([key, value]) => `${key}=${value}`),
      Cmd: record.spec.command ?? null,
      Entrypoint: record.spec.entrypoint ?? null,
      Image: record.spec.image,
      WorkingDir: record.spec.workingDir ?? '',
      User: record.spec.user ?? '',
      Labels: labelsOf(record),
    },
    NetworkSettings: { IPAddress: address, Ports: ports },
  };
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
