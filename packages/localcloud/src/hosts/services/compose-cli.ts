// `docker compose` (and `docker-compose`) inside a droplet: version, config, pull, up -d, down, ps,
// logs, exec, restart, start, stop, rm, ls. `up` recreates only services whose configuration
// changed, in dependency order; progress goes to stderr and results to stdout, as compose does.
import path from 'node:path';
import YAML from 'yaml';
import { allValues, flag, lastValue, parseArgs, type ParsedArgs } from './args';
import { ComposeError, loadComposeProject, type ComposeProject, type ComposeService } from './compose-file';
import { configHash, DaemonError } from './containers';
import { composePsObject, psRow } from './container-views';
import { renderTemplate, table, TemplateError } from './format';
import { writeLog } from './logs';
import { UsageError, type Invocation, type Outcome } from './protocol';
import { execEnv, isPulled, pullImage, tailOption, type DropletRuntime } from './runtime';
import { VOLUMES_DIR, type ContainerRecord } from './state';

export const COMPOSE_VERSION = 'v2.24.6';

const GLOBAL_OPTIONS = {
  'f|file': true,
  'p|project-name': true,
  'project-directory': true,
  'env-file': true,
  profile: true,
  ansi: true,
  progress: true,
  parallel: true,
  compatibility: false,
  'dry-run': false,
  'v|version': false,
  'h|help': false,
};

export async function composeCommand(inv: Invocation, runtime: DropletRuntime): Promise<Outcome> {
  try {
    const global = parseArgs(inv.request.args, GLOBAL_OPTIONS, { stopAtPositional: true });
    const [command, ...args] = global.positionals;
    if (flag(global, 'version') || command === 'version') {
      const short = args.includes('--short');
      inv.io.out(short ? `${COMPOSE_VERSION.slice(1)}\n` : `Docker Compose version ${COMPOSE_VERSION}\n`);
      return 0;
    }
    if (!command || flag(global, 'help')) {
      inv.io.out(
        'Usage:  docker compose [OPTIONS] COMMAND\n\nCommands: config down exec logs ls ps pull restart rm start stop up version\n',
      );
      return 0;
    }
    const session = new ComposeSession(inv, runtime, global);
    switch (command) {
      case 'config':
        return session.config(args);
      case 'pull':
        return await runtime.exclusive(async () => session.pull(args));
      case 'up':
        return await runtime.exclusive(() => session.up(args));
      case 'down':
        return await runtime.exclusive(() => session.down(args));
      case 'ps':
        return session.ps(args);
      case 'logs':
        return await session.logs(args);
      case 'exec':
        return session.exec(args);
      case 'restart':
      case 'start':
      case 'stop':
        return await runtime.exclusive(() => session.lifecycle(command, args));
      case 'rm':
        return await runtime.exclusive(() => session.rm(args));
      case 'ls':
        return session.ls(args);
      case 'build':
        throw new ComposeError('building images is not supported in a local cloud droplet: build and push elsewhere, then pull');
      default:
        throw new UsageError(`unknown docker command: "compose ${command}"`, 1);
    }
  } catch (error) {
    if (error instanceof ComposeError || error instanceof UsageError || error instanceof TemplateError) {
      inv.io.err(`${error.message}\n`);
      return error instanceof UsageError ? error.exitCode : 1;
    }
    if (error instanceof DaemonError) {
      inv.io.err(`Error response from daemon: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

class ComposeSession {
  private loaded?: ComposeProject;

  constructor(
    private readonly inv: Invocation,
    private readonly runtime: DropletRuntime,
    private readonly global: ParsedArgs,
  ) {}

  private get io() {
    return this.inv.io;
  }

  private project(): ComposeProject {
    if (this.loaded) return this.loaded;
    this.loaded = loadComposeProject(this.runtime.sandbox, {
      cwd: this.inv.request.cwd,
      files: allValues(this.global, 'file'),
      projectName: lastValue(this.global, 'project-name'),
      projectDirectory: lastValue(this.global, 'project-directory'),
      envFiles: allValues(this.global, 'env-file'),
      profiles: allValues(this.global, 'profile'),
      env: this.inv.request.env,
    });
    for (const warning of this.loaded.warnings) this.io.err(`WARN[0000] ${warning}\n`);
    return this.loaded;
  }

  /** The project's name without needing its file when -p or COMPOSE_PROJECT_NAME gives it (down, ps, logs). */
  private projectName(): string {
    const given = lastValue(this.global, 'project-name') ?? this.inv.request.env.COMPOSE_PROJECT_NAME;
    if (given) {
      try {
        return this.project().name;
      } catch (error) {
        if (error instanceof ComposeError && /no configuration file provided|no such file/.test(error.message)) return given.toLowerCase();
        throw error;
      }
    }
    return this.project().name;
  }

  /** Services named on the command line (all when none), plus what they depend on unless --no-deps. */
  private selected(names: string[], withDependencies: boolean): ComposeService[] {
    const project = this.project();
    if (names.length === 0) return project.services;
    const byName = new Map(project.services.map((service) => [service.name, service]));
    const wanted = new Set<string>();
    const add = (name: string) => {
      const service = byName.get(name);
      if (!service) throw new ComposeError(`no such service: ${name}`);
      if (wanted.has(name)) return;
      wanted.add(name);
      if (withDependencies) service.dependsOn.forEach(add);
    };
    names.forEach(add);
    return project.services.filter((service) => wanted.has(service.name));
  }

  private containersOf(project: string, services: string[] = []): ContainerRecord[] {
    return this.runtime.containers.inProject(project).filter((record) => services.length === 0 || services.includes(record.service ?? ''));
  }

  private progress(name: string, status: string): void {
    this.io.err(` Container ${name}  ${status}\n`);
  }

  config(args: string[]): Outcome {
    const parsed = parseArgs(args, { 'q|quiet': false, services: false, volumes: false, format: true, images: false }, {});
    const project = this.project();
    if (flag(parsed, 'quiet')) return 0;
    if (flag(parsed, 'services')) this.io.out(project.services.map((service) => `${service.name}\n`).join(''));
    else if (flag(parsed, 'images')) this.io.out(project.services.map((service) => `${service.spec.image}\n`).join(''));
    else if (flag(parsed, 'volumes'))
      this.io.out(
        Object.keys(project.volumes)
          .map((volume) => `${volume}\n`)
          .join(''),
      );
    else {
      const model = {
        name: project.name,
        services: Object.fromEntries(
          project.services.map((service) => [
            service.name,
            {
              container_name: service.containerName,
              image: service.spec.image,
              ...(service.spec.command ? { command: service.spec.command } : {}),
              ...(service.dependsOn.length ? { depends_on: service.dependsOn } : {}),
              environment: service.spec.env,
              ports: service.spec.ports.map((port) => ({
                target: port.target,
                published: port.published === undefined ? undefined : String(port.published),
                host_ip: port.hostIp,
                protocol: port.protocol,
              })),
              volumes: service.spec.volumes.map((mount) => ({
                type: mount.volumeName ? 'volume' : 'bind',
                source: mount.volumeName ?? mount.source,
                target: mount.target,
                read_only: mount.readOnly || undefined,
              })),
              restart: service.spec.restart,
            },
          ]),
        ),
        ...(Object.keys(project.volumes).length
          ? {
              volumes: Object.fromEntries(
                Object.keys(project.volumes).map((volume) => [volume, { name: path.posix.basename(project.volumes[volume]!) }]),
              ),
            }
          : {}),
      };
      this.io.out(lastValue(parsed, 'format') === 'json' ? JSON.stringify(model, null, 2) + '\n' : YAML.stringify(model));
    }
    return 0;
  }

  pull(args: string[]): Outcome {
    const parsed = parseArgs(
      args,
      { 'q|quiet': false, 'ignore-pull-failures': false, 'include-deps': false, policy: true, 'ignore-buildable': false },
      {},
    );
    const services = this.selected(parsed.positionals, flag(parsed, 'include-deps'));
    let failure: string | undefined;
    for (const service of services) {
      if (!flag(parsed, 'quiet')) this.io.err(` ${service.name} Pulling \n`);
      try {
        pullImage(this.runtime, service.spec.image);
        if (!flag(parsed, 'quiet')) this.io.err(` ${service.name} Pulled \n`);
      } catch (error) {
        if (!(error instanceof DaemonError)) throw error;
        this.io.err(` ${service.name} Error ${error.message}\n`);
        failure ??= error.message;
      }
    }
    if (failure && !flag(parsed, 'ignore-pull-failures')) {
      this.io.err(`Error response from daemon: ${failure}\n`);
      return 1;
    }
    return 0;
  }

  async up(args: string[]): Promise<Outcome> {
    const parsed = parseArgs(
      args,
      {
        'd|detach': false,
        pull: true,
        'force-recreate': false,
        'no-recreate': false,
        'no-deps': false,
        'remove-orphans': false,
        wait: false,
        'wait-timeout': true,
        'quiet-pull': false,
        'no-start': false,
        't|timeout': true,
        build: false,
        'no-build': false,
        'always-recreate-deps': false,
        'renew-anon-volumes': false,
        V: false,
        'y|yes': false,
        'abort-on-container-exit': false,
        'no-color': false,
        'no-log-prefix': false,
        scale: true,
      },
      {},
    );
    if (flag(parsed, 'build'))
      throw new ComposeError('building images is not supported in a local cloud droplet: build and push elsewhere, then pull');
    if (!flag(parsed, 'detach'))
      this.io.err('WARN[0000] attached mode is not supported in a local cloud droplet: starting in the background as with -d\n');
    const project = this.project();
    const services = this.selected(parsed.positionals, !flag(parsed, 'no-deps'));
    const pullPolicy = lastValue(parsed, 'pull') ?? 'missing';
    for (const service of services) {
      if (pullPolicy === 'never' || (pullPolicy !== 'always' && isPulled(this.runtime, service.spec.image))) continue;
      if (!flag(parsed, 'quiet-pull')) this.io.err(` ${service.name} Pulling \n`);
      try {
        pullImage(this.runtime, service.spec.image);
      } catch (error) {
        if (!(error instanceof DaemonError)) throw error;
        this.io.err(` ${service.name} Error ${error.message}\n`);
        this.io.err(`Error response from daemon: ${error.message}\n`);
        return 1;
      }
      if (!flag(parsed, 'quiet-pull')) this.io.err(` ${service.name} Pulled \n`);
    }
    const known = new Set(project.services.map((service) => service.name));
    const orphans = this.containersOf(project.name).filter((record) => !known.has(record.service ?? ''));
    if (orphans.length > 0) {
      if (flag(parsed, 'remove-orphans')) {
        for (const record of orphans) {
          await this.runtime.containers.remove(record, false);
          this.progress(record.name, 'Removed');
        }
      } else {
        this.io.err(
          `WARN[0000] Found orphan containers (${orphans.map((record) => record.name).join(', ')}) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.\n`,
        );
      }
    }
    for (const service of services) {
      const outcome = await this.bringUp(project, service, {
        forceRecreate: flag(parsed, 'force-recreate'),
        noRecreate: flag(parsed, 'no-recreate'),
        noStart: flag(parsed, 'no-start'),
      });
      if (outcome !== 0) return outcome;
    }
    if (flag(parsed, 'wait')) {
      // --wait fails on what is not running or not healthy, as compose's does (health is known at once here).
      for (const service of services) {
        const record = this.containersOf(project.name, [service.name])[0];
        if (!record) continue;
        if (!this.runtime.containers.isRunning(record)) {
          this.io.err(`container ${record.name} exited (${record.exitCode})\n`);
          return 1;
        }
        if (this.runtime.containers.health(record) === 'unhealthy') {
          this.io.err(`container ${record.name} is unhealthy\n`);
          return 1;
        }
        this.progress(record.name, 'Healthy');
      }
    }
    return 0;
  }

  private async bringUp(
    project: ComposeProject,
    service: ComposeService,
    options: { forceRecreate: boolean; noRecreate: boolean; noStart: boolean },
  ): Promise<Outcome> {
    const containers = this.runtime.containers;
    const existing = this.containersOf(project.name, [service.name])[0];
    const hash = configHash(service.spec);
    const unchanged = existing && existing.configHash === hash && existing.name === service.containerName;
    let record: ContainerRecord;
    let recreated = false;
    if (existing && (options.noRecreate || (unchanged && !options.forceRecreate))) {
      record = existing;
      if (containers.isRunning(record) || options.noStart) {
        this.progress(record.name, 'Running');
        return 0;
      }
    } else {
      if (existing) {
        this.progress(existing.name, 'Recreate');
        await containers.remove(existing, false);
        recreated = true;
      }
      const clash = containers.find(service.containerName);
      if (clash && clash.name === service.containerName) {
        throw new DaemonError(
          `Conflict. The container name "/${service.containerName}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
      }
      record = containers.create({
        name: service.containerName,
        project: project.name,
        service: service.name,
        spec: service.spec,
        configFiles: project.configFiles,
        workingDir: project.workingDir,
      });
      this.progress(record.name, recreated ? 'Recreated' : 'Created');
      if (options.noStart) return 0;
    }
    this.progress(record.name, 'Starting');
    try {
      await containers.start(record);
    } catch (error) {
      if (!(error instanceof DaemonError)) throw error;
      this.progress(record.name, 'Error');
      this.io.err(`Error response from daemon: ${error.message}\n`);
      return 1;
    }
    this.progress(record.name, 'Started');
    return 0;
  }

  async down(args: string[]): Promise<Outcome> {
    const parsed = parseArgs(args, { 'v|volumes': false, 'remove-orphans': false, rmi: true, 't|timeout': true }, {});
    const name = this.projectName();
    // Newest first: dependents go before what they depend on.
    const records = this.containersOf(name);
    for (const record of records) {
      if (this.runtime.containers.isRunning(record)) {
        this.progress(record.name, 'Stopping');
        await this.runtime.containers.stop(record);
        this.progress(record.name, 'Stopped');
      }
      this.progress(record.name, 'Removing');
      await this.runtime.containers.remove(record, flag(parsed, 'volumes'));
      this.progress(record.name, 'Removed');
    }
    if (flag(parsed, 'volumes')) {
      let volumes: string[] = [];
      try {
        volumes = Object.values(this.project().volumes);
      } catch {
        volumes = [];
      }
      for (const folder of volumes) {
        if (!folder.startsWith(`${VOLUMES_DIR}/${name}_`)) continue; // external volumes stay
        await this.runtime.containers.removeFolder(folder);
        this.io.err(` Volume ${path.posix.basename(folder)}  Removed\n`);
      }
    }
    return 0;
  }

  ps(args: string[]): Outcome {
    const parsed = parseArgs(
      args,
      {
        'a|all': false,
        'q|quiet': false,
        format: true,
        services: false,
        status: true,
        'f|filter': true,
        'no-trunc': false,
        orphans: false,
      },
      {},
    );
    const name = this.projectName();
    let records = this.containersOf(name, parsed.positionals).reverse();
    const containers = this.runtime.containers;
    if (!flag(parsed, 'all')) records = records.filter((record) => containers.isRunning(record) || containers.isRestarting(record));
    const statuses = allValues(parsed, 'status');
    if (statuses.length > 0)
      records = records.filter((record) => statuses.includes(composePsObject(containers, record, '').State as string));
    if (flag(parsed, 'quiet')) {
      this.io.out(records.map((record) => `${flag(parsed, 'no-trunc') ? record.id : record.id.slice(0, 12)}\n`).join(''));
      return 0;
    }
    if (flag(parsed, 'services')) {
      this.io.out(records.map((record) => `${record.service}\n`).join(''));
      return 0;
    }
    const address = this.runtime.sandbox.address;
    const format = lastValue(parsed, 'format') ?? 'table';
    if (format === 'json') {
      this.io.out(records.map((record) => JSON.stringify(composePsObject(containers, record, address)) + '\n').join(''));
    } else if (format === 'table') {
      this.io.out(
        table(
          ['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'CREATED', 'STATUS', 'PORTS'],
          records.map((record) => {
            const row = psRow(containers, record, address);
            return [
              record.name,
              record.spec.image,
              String(row.Command),
              record.service ?? '',
              String(row.RunningFor),
              String(row.Status),
              String(row.Ports),
            ];
          }),
        ),
      );
    } else {
      const template = format.replace(/^table\s+/, '');
      this.io.out(
        records
          .map((record) => renderTemplate(template, { ...composePsObject(containers, record, address), Names: record.name }) + '\n')
          .join(''),
      );
    }
    return 0;
  }

  async logs(args: string[]): Promise<Outcome> {
    const parsed = parseArgs(
      args,
      {
        'f|follow': false,
        'n|tail': true,
        't|timestamps': false,
        'no-color': false,
        'no-log-prefix': false,
        since: true,
        until: true,
        index: true,
      },
      {},
    );
    const name = this.projectName();
    const records = this.containersOf(name, parsed.positionals).reverse();
    if (parsed.positionals.length > 0 && records.length === 0) throw new ComposeError(`no such service: ${parsed.positionals[0]}`);
    const width = Math.max(0, ...records.map((record) => record.name.length));
    const prefix = (record: ContainerRecord) => (flag(parsed, 'no-log-prefix') ? undefined : `${record.name.padEnd(width)}  | `);
    const tail = tailOption(lastValue(parsed, 'tail'));
    // Followed logs of several containers interleave as they come, like compose's.
    await Promise.all(
      records.map((record) =>
        writeLog(this.io, this.runtime.containers.logFile(record), {
          tail,
          follow: flag(parsed, 'follow'),
          prefix: prefix(record),
          signal: this.inv.signal,
          running: () => this.runtime.containers.isRunning(record),
        }),
      ),
    );
    return 0;
  }

  exec(args: string[]): Outcome {
    const parsed = parseArgs(
      args,
      {
        'T|no-TTY': false,
        'd|detach': false,
        'e|env': true,
        'u|user': true,
        'w|workdir': true,
        index: true,
        privileged: false,
        'i|interactive': false,
        t: false,
      },
      { stopAtPositional: true },
    );
    const [serviceName, ...command] = parsed.positionals;
    if (!serviceName || command.length === 0) throw new UsageError('"docker compose exec" requires at least 2 arguments.', 1);
    if (flag(parsed, 'detach')) throw new UsageError('docker compose exec -d is not supported in a local cloud droplet', 1);
    const project = this.project();
    if (!project.services.some((service) => service.name === serviceName))
      throw new ComposeError(`service "${serviceName}" is not running`);
    const record = this.containersOf(project.name, [serviceName]).find((candidate) => this.runtime.containers.isRunning(candidate));
    if (!record) throw new ComposeError(`service "${serviceName}" is not running`);
    const env = execEnv(this.inv, this.runtime, allValues(parsed, 'env'), []);
    // compose exec attaches stdin unless -T or -d, as `docker exec -i` does.
    return {
      exec: this.runtime.containers.exec(record, command, {
        interactive: true,
        env,
        user: lastValue(parsed, 'user'),
        workdir: lastValue(parsed, 'workdir'),
      }),
    };
  }

  async lifecycle(command: 'restart' | 'start' | 'stop', args: string[]): Promise<Outcome> {
    const parsed = parseArgs(args, { 't|timeout': true, 'no-deps': false, wait: false, 'wait-timeout': true }, {});
    const name = this.projectName();
    const records = this.containersOf(name, parsed.positionals).reverse();
    const ordered = command === 'stop' ? [...records].reverse() : records;
    for (const record of ordered) {
      const verb = { restart: ['Restarting', 'Started'], start: ['Starting', 'Started'], stop: ['Stopping', 'Stopped'] }[command];
      this.progress(record.name, verb[0]!);
      try {
        if (command === 'stop') await this.runtime.containers.stop(record);
        else if (command === 'start') await this.runtime.containers.start(record);
        else await this.runtime.containers.restart(record);
      } catch (error) {
        if (!(error instanceof DaemonError)) throw error;
        this.progress(record.name, 'Error');
        this.io.err(`Error response from daemon: ${error.message}\n`);
        return 1;
      }
      this.progress(record.name, verb[1]!);
    }
    return 0;
  }

  async rm(args: string[]): Promise<Outcome> {
    const parsed = parseArgs(args, { 'f|force': false, 's|stop': false, 'v|volumes': false }, {});
    const name = this.projectName();
    const records = this.containersOf(name, parsed.positionals);
    for (const record of records) {
      if (this.runtime.containers.isRunning(record)) {
        if (!flag(parsed, 'stop')) continue;
        await this.runtime.containers.stop(record);
      }
      await this.runtime.containers.remove(record, flag(parsed, 'volumes'));
      this.progress(record.name, 'Removed');
    }
    if (records.length === 0) this.io.err('No stopped containers\n');
    return 0;
  }

  ls(args: string[]): Outcome {
    const parsed = parseArgs(args, { 'a|all': false, format: true, 'q|quiet': false, filter: true }, {});
    const projects = new Map<string, ContainerRecord[]>();
    for (const record of this.runtime.containers.all()) {
      if (!record.project) continue;
      projects.set(record.project, [...(projects.get(record.project) ?? []), record]);
    }
    const rows = [...projects.entries()]
      .map(([project, records]) => {
        const running = records.filter((record) => this.runtime.containers.isRunning(record)).length;
        return {
          Name: project,
          Status: running > 0 ? `running(${running})` : `exited(${records.length})`,
          ConfigFiles: (records[0]!.configFiles ?? []).join(','),
          running,
        };
      })
      .filter((row) => flag(parsed, 'all') || row.running > 0);
    if (flag(parsed, 'quiet')) this.io.out(rows.map((row) => `${row.Name}\n`).join(''));
    else if (lastValue(parsed, 'format') === 'json') this.io.out(JSON.stringify(rows.map(({ running: _running, ...row }) => row)) + '\n');
    else
      this.io.out(
        table(
          ['NAME', 'STATUS', 'CONFIG FILES'],
          rows.map((row) => [row.Name, row.Status, row.ConfigFiles]),
        ),
      );
    return 0;
  }
}
