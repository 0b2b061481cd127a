// An outage on a port: holds it (so nothing else takes it while the server is down) and resets every
// connection, as a dead host behind a load balancer does, so clients fail at once instead of hanging.
import net from 'node:net';

export interface Blackhole {
  close(): Promise<void>;
}

export function holdPort(host: string, port: number): Promise<Blackhole> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.resetAndDestroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve({
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
