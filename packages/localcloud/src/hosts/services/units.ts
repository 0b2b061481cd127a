// The droplet's service manager for systemd units: starts a unit's ExecStart inside the droplet
// (owned by the local cloud, not by the SSH session that asked, so it outlives it), logs its output
// to /var/log/localcloud/<unit>.log, follows Restart=, and brings enabled or running units back
// after a restart of the local cloud. docker, containerd and ssh are always there and running.
// nginx's master gets the droplet's ports 80 and 443 from here (listen-sockets.ts); reload runs ExecReload=.
import { existsSync, lstatSync, rmSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { appendDropletFile, giveToDroplet, makeDropletDir } from '../isolation/droplet-files';
import { hostPath, sandboxEnv, type DropletSandbox } from '../sandbox';
import { asUser, userOf } from './container-driver';
import { visiblePath } from './droplet-paths';
import { nginxSocketLauncher } from './listen-sockets';
import { NGINX_BINARY, NGINX_TOOL } from './nginx-package';
import { fileSize, runInSandbox, SandboxedProcess } from './sandboxed-process';
import { SHIM_TOOLS } from './shims';
import type { ServicesState, UnitRecord } from './state';
import { UNIT_LOG_DIR } from './state';
import { expandCommand, readUnit, unitEnvironment, UnitError, UNIT_DIR, type ExecLine, type UnitFile } from './unit-file';

export const BUILTIN_UNITS = new Set(['docker.service', 'containerd.service', 'ssh.service', 'sshd.service']);

export type ActiveState = 'active' | 'inactive' | 'failed' | 'activating';

export interface UnitStatus {
  state: ActiveState;
  /** systemd's sub-state: running, exited, dead, failed, auto-restart. */
  sub: string;
  since: Date;
  mainPid?: number;
  result?: string;
  exitCode?: number;
  restarts: number;
}

const START_LIMIT = 5;
const START_LIMIT_WINDOW_MS = 10_000;

export class Units {
  private readonly processes = new Map<string, SandboxedProcess>();
  private readonly statuses = new Map<string, UnitStatus>();
  private readonly stopping = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly startTimes = new Map<string, number[]>();
  private closed = false;

  constructor(
    private readonly sandbox: DropletSandbox,
    private readonly state: ServicesState,
    private readonly save: () => void,
    private readonly log: (message: string, fields: Record<string, unknown>) => void,
  ) {}

  record(name: string): UnitRecord {
    return (this.state.units[name] ??= { enabled: false, active: false });
  }

  status(name: string): UnitStatus {
    if (BUILTIN_UNITS.has(name)) return { state: 'active', sub: 'running', since: new Date(0), restarts: 0 };
    return this.statuses.get(name) ?? { state: 'inactive', sub: 'dead', since: new Date(0), restarts: 0 };
  }

  isEnabled(name: string): boolean {
    return BUILTIN_UNITS.has(name) || this.state.units[name]?.enabled === true;
  }

  logFile(name: string): string {
    return hostPath(this.sandbox, path.posix.join(UNIT_LOG_DIR, `${name}.log`));
  }

  load(name: string): UnitFile {
    const unit = readUnit(this.sandbox, name);
    if (!unit) throw new UnitError(`Unit ${name} not found.`, 5);
    return unit;
  }

  /** Enables a unit: its [Install] link, as systemctl prints it; returns the lines to print. */
  enable(name: string): string[] {
    if (BUILTIN_UNITS.has(name)) return [];
    const unit = readUnit(this.sandbox, name);
    if (!unit) throw new UnitError(`Failed to enable unit: Unit file ${name} does not exist.`, 1);
    const messages: string[] = [];
    for (const target of unit.wantedBy.length > 0 ? unit.wantedBy : ['multi-user.target']) {
      const link = path.posix.join(UNIT_DIR, `${target}.wants`, name);
      const hostLink = hostPath(this.sandbox, link);
      if (lstatSync(hostLink, { throwIfNoEntry: false })) continue;
      makeDropletDir(this.sandbox, path.dirname(hostLink));
      symlinkSync(unit.path, hostLink);
      giveToDroplet(this.sandbox, hostLink);
      messages.push(`Created symlink ${link} → ${unit.path}.`);
    }
    this.record(name).enabled = true;
    this.save();
    return messages;
  }

  disable(name: string): string[] {
    if (BUILTIN_UNITS.has(name)) return [];
    const messages: string[] = [];
    const unit = readUnit(this.sandbox, name);
    for (const target of unit?.wantedBy.length ? unit.wantedBy : ['multi-user.target']) {
      const link = path.posix.join(UNIT_DIR, `${target}.wants`, name);
      const hostLink = hostPath(this.sandbox, link);
      if (!lstatSync(hostLink, { throwIfNoEntry: false })) continue;
      rmSync(hostLink, { force: true });
      messages.push(`Removed "${link}".`);
    }
    this.record(name).enabled = false;
    this.save();
    return messages;
  }

  async start(name: string): Promise<void> {
    if (BUILTIN_UNITS.has(name) || this.processes.has(name)) return;
    this.cancelRestart(name);
    const unit = this.load(name);
    this.record(name).active = true;
    this.save();
    await this.launch(unit);
  }

  async stop(name: string, keepDesired = false): Promise<void> {
    if (BUILTIN_UNITS.has(name)) return;
    this.cancelRestart(name);
    if (!keepDesired && this.state.units[name]) {
      this.record(name).active = false;
      this.save();
    }
    const running = this.processes.get(name);
    if (!keepDesired && (running || this.status(name).state === 'active')) await this.runExecStop(name);
    if (!running) {
      const status = this.statuses.get(name);
      if (status && status.state !== 'failed') this.statuses.set(name, { ...status, state: 'inactive', sub: 'dead', since: new Date() });
      return;
    }
    this.stopping.add(name);
    try {
      await running.stop('SIGTERM', 10_000);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      this.stopping.delete(name);
    }
  }

  async restart(name: string): Promise<void> {
    await this.stop(name);
    await this.start(name);
  }

  /**
   * After a restart of the local cloud: starts enabled and running units. Nothing of a previous
   * run is left to end (the droplet's processes ended with it), so a pid in the file is dropped.
   */
  async restore(): Promise<void> {
    for (const [name, record] of Object.entries(this.state.units)) {
      if (!/^[A-Za-z0-9:_.@-]+\.service$/.test(name) || typeof record !== 'object' || record === null) {
        delete this.state.units[name]; // the droplet's to edit: nonsense is dropped, not run
        continue;
      }
      delete record.process;
      if (!record.enabled && !record.active) continue;
      try {
        await this.start(name);
      } catch (error) {
        this.log('unit did not come back', { unit: name, error: (error as Error).message });
      }
    }
    this.save();
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...this.processes.keys()].map((name) => this.stop(name, true)));
  }

  private async launch(unit: UnitFile): Promise<void> {
    const name = unit.name;
    const fail = (result: string, message: string, exitCode?: number): never => {
      this.statuses.set(name, {
        state: 'failed',
        sub: 'failed',
        since: new Date(),
        result,
        exitCode,
        restarts: this.status(name).restarts,
      });
      this.appendLog(name, message);
      throw new UnitError(
        `Job for ${name} failed because ${message}.\nSee "systemctl status ${name}" and "journalctl -xeu ${name}" for details.`,
        1,
      );
    };
    if (unit.execStart.length === 0) fail('resources', 'the unit has no ExecStart= setting (bad unit file setting)');
    if (unit.type !== 'oneshot' && unit.execStart.length > 1)
      fail('resources', 'only oneshot services may have more than one ExecStart= command');
    let env: Record<string, string>;
    try {
      env = unitEnvironment(this.sandbox, unit, sandboxEnv());
    } catch (error) {
      return fail('resources', (error as Error).message);
    }
    if (unit.user && !userOf(this.sandbox, unit.user)) fail('exit-code', `the user ${unit.user} does not exist (status=217/USER)`, 217);
    const cwd = unit.workingDirectory?.replace(/^~$/, '/root').replace(/^-/, '');
    if (cwd && !existsSync(visiblePath(this.sandbox, cwd)))
      fail('exit-code', `its working directory ${cwd} does not exist (status=200/CHDIR)`, 200);
    this.statuses.set(name, { state: 'activating', sub: 'start-pre', since: new Date(), restarts: this.status(name).restarts });

    for (const line of unit.execStartPre) {
      const code = await this.runToEnd(unit, line, env, cwd);
      if (code !== 0 && !line.ignoreFailure)
        fail('exit-code', `the control process exited with error code (ExecStartPre, status=${code})`, code);
    }
    if (unit.type === 'oneshot') {
      for (const line of unit.execStart) {
        const code = await this.runToEnd(unit, line, env, cwd);
        if (code !== 0 && !line.ignoreFailure) fail('exit-code', `the control process exited with error code (status=${code})`, code);
      }
      this.statuses.set(
        name,
        unit.remainAfterExit
          ? { state: 'active', sub: 'exited', since: new Date(), result: 'success', restarts: 0 }
          : { state: 'inactive', sub: 'dead', since: new Date(), result: 'success', restarts: 0 },
      );
      return;
    }
    const argv = this.command(unit, unit.execStart[0]!, env);
    if (!this.executable(argv[0]!)) fail('exit-code', `${argv[0]} could not be executed: No such file or directory (status=203/EXEC)`, 203);
    // nginx's master runs the real binary (not the shim) with the droplet's ports 80 and 443 handed over.
    const nginx = argv[0] === `/opt/localcloud/bin/${NGINX_TOOL}`;
    if (nginx) argv[0] = NGINX_BINARY;
    this.appendLog(name, `Started ${unit.description}.`);
    const service = SandboxedProcess.spawn(this.sandbox, unit.user ? asUser(this.sandbox, unit.user, argv) : argv, {
      env,
      cwd: cwd ?? '/',
      logFile: this.logFile(name),
      launcher: nginx ? nginxSocketLauncher(this.sandbox.address, 'listen') : undefined,
    });
    this.processes.set(name, service);
    const ref = await service.ref;
    this.record(name).process = ref;
    this.save();
    this.statuses.set(name, {
      state: 'active',
      sub: 'running',
      since: new Date(),
      mainPid: ref?.pid,
      restarts: this.status(name).restarts,
    });
    void service.exited.then((code) => this.exited(unit, service, code));
  }

  private exited(unit: UnitFile, service: SandboxedProcess, code: number): void {
    const name = unit.name;
    if (this.processes.get(name) !== service) return;
    this.processes.delete(name);
    if (this.state.units[name]) this.record(name).process = undefined;
    const stopped = this.stopping.has(name) || this.closed;
    const clean = code === 0 || stopped;
    this.statuses.set(
      name,
      clean
        ? { state: 'inactive', sub: 'dead', since: new Date(), result: 'success', restarts: this.status(name).restarts }
        : { state: 'failed', sub: 'failed', since: new Date(), result: 'exit-code', exitCode: code, restarts: this.status(name).restarts },
    );
    if (!stopped) this.appendLog(name, `${name}: Main process exited, code=exited, status=${code}`);
    this.save();
    const wanted =
      unit.restart === 'always' || (unit.restart === 'on-failure' && code !== 0) || (unit.restart === 'on-abnormal' && code > 128);
    if (stopped || !wanted) return;
    const now = Date.now();
    const recent = (this.startTimes.get(name) ?? []).filter((time) => now - time < START_LIMIT_WINDOW_MS);
    if (recent.length >= START_LIMIT) {
      this.statuses.set(name, {
        state: 'failed',
        sub: 'failed',
        since: new Date(),
        result: 'start-limit-hit',
        exitCode: code,
        restarts: this.status(name).restarts,
      });
      this.appendLog(name, `${name}: Start request repeated too quickly.`);
      return;
    }
    this.startTimes.set(name, [...recent, now]);
    this.statuses.set(name, { ...this.status(name), state: 'activating', sub: 'auto-restart' });
    const timer = setTimeout(
      () => {
        this.timers.delete(name);
        const status = this.status(name);
        this.statuses.set(name, { ...status, restarts: status.restarts + 1 });
        this.start(name).catch((error: Error) => this.log('unit restart failed', { unit: name, error: error.message }));
      },
      Math.max(unit.restartMs, 100),
    );
    this.timers.set(name, timer);
  }

  /**
   * systemctl reload: ExecReload= (nginx's `nginx -s reload`) while the unit runs; a unit without
   * ExecReload= is restarted, as this droplet always did.
   */
  async reload(name: string): Promise<void> {
    if (BUILTIN_UNITS.has(name)) return;
    const unit = this.load(name);
    if (unit.execReload.length === 0) return this.restart(name);
    if (this.status(name).state !== 'active') throw new UnitError(`${name} is not active, cannot reload.`, 1);
    const env = unitEnvironment(this.sandbox, unit, sandboxEnv());
    const cwd = unit.workingDirectory?.replace(/^~$/, '/root').replace(/^-/, '');
    for (const line of unit.execReload) {
      const code = await this.runToEnd(unit, line, env, cwd);
      if (code !== 0 && !line.ignoreFailure)
        throw new UnitError(
          `Job for ${name} failed because the control process exited with error code (ExecReload, status=${code}).\nSee "systemctl status ${name}" and "journalctl -xeu ${name}" for details.`,
          1,
        );
    }
  }

  /** ExecStop= commands (a oneshot unit's `docker compose down`), before the main process is signalled. */
  private async runExecStop(name: string): Promise<void> {
    const unit = readUnit(this.sandbox, name);
    if (!unit || unit.execStop.length === 0) return;
    try {
      const env = unitEnvironment(this.sandbox, unit, sandboxEnv());
      const cwd = unit.workingDirectory?.replace(/^~$/, '/root').replace(/^-/, '');
      for (const line of unit.execStop) await this.runToEnd(unit, line, env, cwd);
    } catch (error) {
      this.appendLog(name, `ExecStop failed: ${(error as Error).message}`);
    }
  }

  private async runToEnd(unit: UnitFile, line: ExecLine, env: Record<string, string>, cwd: string | undefined): Promise<number> {
    const argv = this.command(unit, line, env);
    const result = await runInSandbox(this.sandbox, unit.user ? asUser(this.sandbox, unit.user, argv) : argv, { env, cwd });
    this.appendLog(unit.name, result.stdout + result.stderr);
    return result.code;
  }

  private command(_unit: UnitFile, line: ExecLine, env: Record<string, string>): string[] {
    const argv = expandCommand(line.argv, env);
    const program = argv[0] ?? '';
    // Units name docker where a real install puts it (/usr/bin/docker); here it is the shim.
    const tool = path.posix.basename(program);
    if ((SHIM_TOOLS as readonly string[]).includes(tool) && /^(\/usr)?(\/local)?\/s?bin\/[^/]+$/.test(program))
      return [`/opt/localcloud/bin/${tool}`, ...argv.slice(1)];
    if (program.startsWith('/')) return argv;
    // systemd looks a bare name up in a fixed PATH.
    for (const dir of ['/opt/localcloud/bin', '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
      if (this.executable(`${dir}/${program}`)) return [`${dir}/${program}`, ...argv.slice(1)];
    }
    return argv;
  }

  private executable(program: string): boolean {
    try {
      return program.startsWith('/') && (statSync(visiblePath(this.sandbox, program)).mode & 0o111) !== 0;
    } catch {
      return false;
    }
  }

  private appendLog(name: string, text: string): void {
    if (text === '') return;
    try {
      appendDropletFile(this.sandbox, this.logFile(name), text.endsWith('\n') ? text : `${text}\n`);
    } catch {
      // The droplet's user removed the folder.
    }
  }

  private cancelRestart(name: string): void {
    const timer = this.timers.get(name);
    if (timer) clearTimeout(timer);
    this.timers.delete(name);
  }

  /** Log size now, for status output that shows the last lines. */
  logSize(name: string): number {
    return fileSize(this.logFile(name));
  }
}
