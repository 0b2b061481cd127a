// Any image that is not a known database becomes an AppService in the local cloud's process; a
// `crashing` tag makes it exit with status 1 right after it starts, as a broken release would (and so
// does a tag asking for the impossible, such as `err150`, naming why).
import { AppService } from './app-service';
import { appendLog, listenAddresses, type ContainerContext, type ContainerDriver, type RunningContainer } from './container-driver';
import { shownHostIp } from './container-views';
import { misbehaviourOf } from './image';

export const appDriver: ContainerDriver = {
  stopSignal: 'SIGTERM',

  async start(ctx: ContainerContext): Promise<RunningContainer> {
    const behaviour = misbehaviourOf(ctx.image);
    if (behaviour.crashing || behaviour.invalid) {
      const why = behaviour.invalid
        ? `its tag ${ctx.image.tag} asks for what cannot be: ${behaviour.invalid}`
        : `this ${ctx.image.tag} release crashes on start`;
      appendLog(ctx, `${ctx.record.name}: fatal: cannot start (${why})`);
      return { ports: [], exited: Promise.resolve(1), stop: async () => undefined };
    }
    const site = ctx.record.spec.env.OPSFLOW_SITE;
    const service = new AppService(ctx.sandbox.address, ctx.image, ctx.record.name, site ? { 'x-opsflow-site': site } : {});
    // Each port where compose publishes it: checked for all before any listens.
    const addresses = new Map(ctx.record.spec.ports.map((port) => [port, listenAddresses(ctx.sandbox, port)]));
    const ports = await service.listen(ctx.record.spec.ports, (port) => addresses.get(port)!);
    for (const port of ports)
      if (port.protocol === 'tcp')
        appendLog(
          ctx,
          `${ctx.image.repository} ${ctx.image.tag} listening on http://${shownHostIp(port, ctx.sandbox.address)}:${port.published}`,
        );
    if (ports.length === 0) appendLog(ctx, `${ctx.image.repository} ${ctx.image.tag} started (no published ports)`);
    let stopped!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (stopped = resolve));
    return {
      ports,
      exited,
      stop: async () => {
        await service.close();
        appendLog(ctx, 'received SIGTERM, shutting down');
        stopped(0);
      },
    };
  },

  execEnv: () => ({ env: {} }),
};
