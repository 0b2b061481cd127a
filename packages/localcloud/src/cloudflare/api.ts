// Cloudflare's API v4 under /client/v4 of the local cloud's API server, behind the same gate as
// DigitalOcean's (bearer token, rate limit, faults, request log) but answering in Cloudflare's
// envelope, errors included; and the edge's counts on the control API.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors';
import type { CloudContext } from '../context';
import { asCloudflareError, CloudflareError, CODES, failure } from './envelope';
import { registerAccountRoutes } from './routes/accounts';
import { registerDnsRecordRoutes } from './routes/dns-records';
import { registerLoadBalancerRoutes } from './routes/load-balancers';
import { registerMonitorRoutes } from './routes/monitors';
import { registerPoolRoutes } from './routes/pools';
import { registerZoneRoutes } from './routes/zones';
import { cloudflareRuntime } from './runtime';

export const CLOUDFLARE_API_PREFIX = '/client/v4';

export function registerCloudflareRoutes(app: FastifyInstance, ctx: CloudContext): void {
  const runtime = cloudflareRuntime(ctx);
  void app.register(
    async (scope) => {
      scope.setErrorHandler((error, request, reply) => {
        const answer = asCloudflareError(error);
        if (answer.status === 500) request.log.error(error);
        void reply.code(answer.status).send(failure(answer));
      });
      // A lost response (a fault: the work done, the answer an error) is written by the shared gate
      // in DigitalOcean's shape; here it is put in Cloudflare's envelope.
      scope.addHook('onSend', async (_request, reply, payload) => {
        if (reply.statusCode < 400 || typeof payload !== 'string' || payload.includes('"success"')) return payload;
        const { id, message } = JSON.parse(payload) as { id?: string; message?: string };
        return JSON.stringify(failure(asCloudflareError(new ApiError(reply.statusCode, id ?? 'server_error', message ?? ''))));
      });
      scope.setNotFoundHandler((request, reply) => {
        const error = new CloudflareError(404, [
          { code: CODES.noRoute, message: `No route for that URI: ${request.method} ${request.url}` },
        ]);
        void reply.code(404).send(failure(error));
      });
      registerAccountRoutes(scope, ctx.store);
      registerZoneRoutes(scope, ctx.store);
      registerDnsRecordRoutes(scope, ctx.store);
      registerMonitorRoutes(scope, ctx.store);
      registerPoolRoutes(scope, ctx.store, runtime.health);
      registerLoadBalancerRoutes(scope, ctx.store);
    },
    { prefix: CLOUDFLARE_API_PREFIX },
  );

  // Control: where the edge listens and what it has forwarded where; and a fresh count.
  app.get('/_localcloud/cloudflare/edge', async () => ({ url: runtime.edge.url, counts: runtime.edge.counts() }));
  app.delete('/_localcloud/cloudflare/edge/counts', async () => {
    runtime.edge.resetCounts();
    return { url: runtime.edge.url, counts: runtime.edge.counts() };
  });
}
