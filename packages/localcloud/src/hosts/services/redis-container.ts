// redis:* images run the machine's real redis-server inside the droplet as the redis user, on the
// droplet's address, without snapshots unless the compose command asks (`--save ''` first, the
// user's arguments after it, address, port and folders last so they always hold). `docker exec`
// gets a redis-cli that already points at this container's socket.
import { chmodSync, existsSync } from 'node:fs';
import path from 'node:path';
import { writeDropletFile } from '../isolation/droplet-files';
import { hostPath } from '../sandbox';
import {
  asUser,
  ContainerFailed,
  ownedFolders,
  pathInContainer,
  serverArgs,
  serverPort,
  startServer,
  type ContainerContext,
  type ContainerDriver,
  type ExecAdditions,
  type RunningContainer,
} from './container-driver';

function settings(ctx: ContainerContext) {
  const run = path.posix.join(ctx.dir, 'run');
  return {
    data: pathInContainer(ctx, '/data'),
    run,
    socket: path.posix.join(run, 'redis.sock'),
    bin: path.posix.join(ctx.dir, 'bin'),
    port: serverPort(ctx, 6379),
  };
}

export const redisDriver: ContainerDriver = {
  stopSignal: 'SIGTERM',

  async start(ctx: ContainerContext): Promise<RunningContainer> {
    const server = ['/usr/bin/redis-server', '/usr/bin/valkey-server'].find((candidate) => existsSync(candidate));
    if (!server)
      throw new ContainerFailed(
        'Redis is not installed on this machine (apt-get install redis-server): redis images need its server binary',
      );
    const s = settings(ctx);
    await ownedFolders(ctx, 'redis', [s.data, s.run]);
    writeCliWrapper(ctx, s);
    return startServer(
      ctx,
      asUser(ctx.sandbox, 'redis', [
        server,
        '--save',
        '',
        ...serverArgs(ctx, ['redis-server', 'valkey-server']),
        '--bind',
        ...s.port.addresses,
        '--port',
        String(s.port.port),
        '--dir',
        s.data,
        '--unixsocket',
        s.socket,
        '--unixsocketperm',
        '777',
        '--daemonize',
        'no',
        '--protected-mode',
        'no',
      ]),
      { env: {}, ready: /Ready to accept connections/, stopSignal: 'SIGTERM', ports: s.port.bound },
    );
  },

  execEnv(ctx: ContainerContext): ExecAdditions {
    return { env: {}, pathPrefix: settings(ctx).bin };
  },
};

/** bin/redis-cli: the real one, pointed at this container's socket (its own arguments follow). */
function writeCliWrapper(ctx: ContainerContext, s: ReturnType<typeof settings>): void {
  const dir = hostPath(ctx.sandbox, s.bin);
  const file = path.join(dir, 'redis-cli');
  writeDropletFile(ctx.sandbox, file, `#!/bin/sh\nexec /usr/bin/redis-cli -s '${s.socket}' "$@"\n`);
  chmodSync(file, 0o755);
}
