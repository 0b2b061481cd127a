// One TCP connection carried to a server, both ways, for the test proxies; both sockets are kept in
// `open` while they live, so a proxy can cut or close every connection it carries.
import net from 'node:net';

export function forwardTcp(client: net.Socket, targetHost: string, targetPort: number, open: Set<net.Socket>): void {
  if (client.destroyed) return;
  const upstream = net.connect(targetPort, targetHost);
  open.add(client).add(upstream);
  const end = () => {
    client.destroy();
    upstream.destroy();
    open.delete(client);
    open.delete(upstream);
  };
  client.on('error', end).on('close', end);
  upstream.on('error', end).on('close', end);
  client.pipe(upstream).pipe(client);
}
