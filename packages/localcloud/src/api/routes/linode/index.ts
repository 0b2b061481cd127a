// Linode's API v4, served by the local cloud beside DigitalOcean's v2: at /v4 and at /v4beta (the
// official client reaches some endpoints there). Same account token, rate limit, faults and
// request log as the rest of the cloud (server.ts's hooks); what differs is Linode's: its error
// shape, its pages and its rate-limit headers, set for this part of the API only (a Fastify scope).
import type { FastifyInstance } from 'fastify';
import type { CloudContext } from '../../../context';
import { ApiError, fromFrameworkError } from '../../errors';
import { NodeBalancerFrontends } from './balancer';
import { LINODE_IMAGES, LINODE_REGIONS, LINODE_TYPES } from './catalog';
import { linodeErrorBody } from './errors';
import { registerLinodeFirewallRoutes } from './firewalls';
import { registerLinodeInstanceRoutes } from './instances';
import { registerLinodeIpRoutes } from './ips';
import { registerLinodeNodeBalancerRoutes } from './nodebalancers';
import { linodePage } from './pagination';
import { registerLinodeTagRoutes } from './tags';
import { registerLinodeVolumeRoutes } from './volumes';
import { registerLinodeVpcRoutes } from './vpcs';

export const LINODE_API_PREFIXES = ['/v4', '/v4beta'];

/** Linode names the same budget X-RateLimit-*; the cloud's limiter sets ratelimit-* on every answer. */
const RATE_LIMIT_HEADERS = {
  'ratelimit-limit': 'x-ratelimit-limit',
  'ratelimit-remaining': 'x-ratelimit-remaining',
  'ratelimit-reset': 'x-ratelimit-reset',
};

/**
 * A lost response (a fault: the work was done, the client hears an error) is written by server.ts
 * in DigitalOcean's shape before this scope's hooks run; here it is reworded as Linode's.
 */
function inLinodeShape(status: number, payload: unknown): unknown {
  if (status < 400 || typeof payload !== 'string') return payload;
  try {
    const body = JSON.parse(payload) as { id?: unknown; message?: unknown; errors?: unknown };
    if (body.errors !== undefined || typeof body.id !== 'string' || typeof body.message !== 'string') return payload;
    return JSON.stringify(linodeErrorBody(new ApiError(status, body.id, body.message)));
  } catch {
    return payload;
  }
}

function linodeApi(ctx: CloudContext, bodyLimitBytes: number, frontends: NodeBalancerFrontends) {
  return async (app: FastifyInstance) => {
    app.setErrorHandler((error, request, reply) => {
      const apiError = fromFrameworkError(error, bodyLimitBytes);
      if (apiError.status === 500) request.log.error(error);
      void reply.code(apiError.status).send(linodeErrorBody(apiError));
    });
    app.setNotFoundHandler((_request, reply) => {
      void reply.code(404).send({ errors: [{ reason: 'Not found' }] });
    });
    // Linode's client POSTs actions (shutdown, detach) with no body and no JSON content type: an
    // empty body of any type is none; anything else but JSON is still a 415 (server.ts's parser).
    app.addContentTypeParser('*', { parseAs: 'string' }, (_request, text, done) => {
      if (text === '') return done(null, undefined);
      done(new ApiError(415, 'unsupported_media_type', 'The request body must be sent as Content-Type: application/json.'), undefined);
    });
    app.addHook('onSend', async (_request, reply, payload) => {
      for (const [from, to] of Object.entries(RATE_LIMIT_HEADERS)) {
        const value = reply.getHeader(from);
        if (value !== undefined) reply.header(to, value);
      }
      return inLinodeShape(reply.statusCode, payload);
    });

    app.get('/regions', async (request) => linodePage(request, LINODE_REGIONS));
    app.get('/linode/types', async (request) => linodePage(request, LINODE_TYPES));
    app.get('/images', async (request) => linodePage(request, LINODE_IMAGES));
    registerLinodeInstanceRoutes(app, ctx);
    registerLinodeIpRoutes(app, ctx);
    registerLinodeVpcRoutes(app, ctx);
    registerLinodeFirewallRoutes(app, ctx);
    registerLinodeVolumeRoutes(app, ctx);
    registerLinodeNodeBalancerRoutes(app, ctx, frontends);
    registerLinodeTagRoutes(app, ctx);
  };
}

export function registerLinodeApi(app: FastifyInstance, ctx: CloudContext, bodyLimitBytes: number): void {
  const frontends = new NodeBalancerFrontends(ctx);
  for (const prefix of LINODE_API_PREFIXES) void app.register(linodeApi(ctx, bodyLimitBytes, frontends), { prefix });
  app.addHook('onClose', async () => frontends.close());
  // After a restart, instances that were up are hosts again (droplets come back in local-cloud.ts)
  // and NodeBalancers listen again.
  app.addHook('onReady', async () => {
    frontends.sync();
    for (const { linode } of ctx.store.state.linode.instances)
      if (!['provisioning', 'offline'].includes(linode.status))
        ctx.hosts.dropletActive({ id: linode.id, name: linode.label, region: { slug: linode.region } });
  });
}
