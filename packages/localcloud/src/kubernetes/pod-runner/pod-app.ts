// The program a pod's application container runs, in a sandbox of its own (container-process.ts):
// the same simulated application a droplet's container runs (hosts/services/app-service.ts: real
// HTTP, /health, /metrics counting requests by status code and version, behaviour from the image
// tag), listening on the pod's address and the container's ports. SIGTERM closes it. A `crashing`
// tag (or one asking for the impossible, such as err150) exits with status 1 at once, naming why,
// as a droplet's container does; `complete` mode (a Job's container, an init container) exits 0.
import { AppService } from '../../hosts/services/app-service';
import { misbehaviourOf, parseImage } from '../../hosts/services/image';
import { LISTENING_LINE, parsePodAppArgv } from './pod-app-protocol';

async function main(): Promise<void> {
  const args = parsePodAppArgv(process.argv.slice(2));
  const image = parseImage(args.image);
  const service = new AppService(args.address, image, args.name);
  // Installed first: a SIGTERM meanwhile closes the service instead of killing the process.
  const shutdown = (signal: string) => {
    console.log(`received ${signal}, shutting down`);
    void service.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const behaviour = misbehaviourOf(image);
  if (behaviour.crashing || behaviour.invalid) {
    const why = behaviour.invalid
      ? `its tag ${image.tag} asks for what cannot be: ${behaviour.invalid}`
      : `this ${image.tag} release crashes on start`;
    console.error(`${args.name}: fatal: cannot start (${why})`);
    process.exit(1);
  }
  if (args.mode === 'complete') {
    console.log(`${image.repository} ${image.tag} ran to completion`);
    process.exit(0);
  }
  const ports = await service.listen(args.ports.map((port) => ({ target: port, published: port, protocol: 'tcp' as const })));
  for (const port of ports) console.log(`${image.repository} ${image.tag} listening on http://${args.address}:${port.published}`);
  if (ports.length === 0) console.log(`${image.repository} ${image.tag} started (no ports)`);
  console.log(LISTENING_LINE);
}

main().catch((error: Error) => {
  console.error(`fatal: ${error.message}`);
  process.exit(1);
});
