// The Temporal dev server with its Web UI, history kept in a file so a restart loses nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { openPrivateLog, withPrivateUmask } from '../paths';
import { devServerSearchAttributeArgs } from '../temporal/search-attributes';

export interface DevServerOptions {
  cliPath: string;
  ip: string;
  port: number;
  uiPort: number;
  dbFile: string;
  logFile: string;
}

export function devServerArgs(options: Omit<DevServerOptions, 'cliPath' | 'logFile'>): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    options.ip,
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--db-filename',
    options.dbFile,
    '--log-level',
    'warn',
    ...devServerSearchAttributeArgs(),
  ];
}

export function spawnDevServer(options: DevServerOptions): ChildProcess {
  const log = openPrivateLog(options.logFile);
  // Its own process group: a Ctrl-C in the terminal reaches only `opsflow up`, which stops the
  // worker first and the server last. Under umask 077: the history database it creates is private.
  return withPrivateUmask(() => spawn(options.cliPath, devServerArgs(options), { stdio: ['ignore', log, log], detached: true }));
}

/** Resolves with the server version once the frontend answers; rejects after `timeoutMs`. */
export async function waitForTemporal(address: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const version = await temporalServerVersion(address).catch((err: unknown) => {
      lastError = err;
      return undefined;
    });
    if (version) return version;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Temporal at ${address} did not answer within ${timeoutMs / 1000} s: ${String(lastError)}`);
}

/** The server version if a Temporal frontend answers at `address`. */
export async function temporalServerVersion(address: string): Promise<string> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    const info = await connection.workflowService.getSystemInfo({});
    return info.serverVersion || 'unknown';
  } finally {
    await connection.close();
  }
}
