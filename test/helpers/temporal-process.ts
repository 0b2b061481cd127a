// A Temporal dev server as a process of the test's own, its history in a sqlite file (as `opsflow
// up` runs it), so a test can SIGKILL it and start it again on the same port with nothing lost.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { spawnDevServer, waitForTemporal } from '../../src/devstack/dev-server';
import { freePort } from './processes';
import { killProcess } from './production-worker';
import { tempDir } from './temp';
import { temporalCliPath } from './temporal';

export interface TemporalProcess {
  address: string;
  client: Client;
  /** SIGKILL: no shutdown, whatever was not yet in the sqlite file is lost. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and file; resolves once it answers. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTemporalProcess(): Promise<TemporalProcess> {
  const dir = tempDir('temporal-server');
  const options = {
    cliPath: temporalCliPath(),
    ip: '127.0.0.1',
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: path.join(dir, 'history.db'),
    logFile: path.join(dir, 'server.log'),
  };
  const address = `127.0.0.1:${options.port}`;
  let server: ChildProcess | undefined;
  const start = async () => {
    server = spawnDevServer(options);
    await waitForTemporal(address, 120_000);
  };
  await start();
  const connection = await Connection.connect({ address });
  return {
    address,
    client: new Client({ connection }),
    kill: async () => {
      if (server) await killProcess(server);
    },
    start,
    async stop() {
      await connection.close();
      if (server) await killProcess(server);
    },
  };
}
