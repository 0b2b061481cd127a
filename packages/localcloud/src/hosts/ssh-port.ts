// Which port droplets can answer SSH on here, decided before the local cloud starts (its starter
// tells a demo spec the same port).
import net from 'node:net';
import { FALLBACK_SSH_PORT } from './droplet-hosts';

/**
 * 22 when this process can bind it on a droplet network address (root, or a low
 * unprivileged-port start), else the fallback. Probed on 127.<network>.0.1, an address no droplet gets.
 */
export async function dropletSshPort(hostNetwork = 100): Promise<number> {
  const bindable = await new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(22, `127.${hostNetwork}.0.1`, () => server.close(() => resolve(true)));
  });
  return bindable ? 22 : FALLBACK_SSH_PORT;
}
