// The DigitalOcean API v2 over HTTP: bearer-token auth, the account rate limit with its headers,
// faults on demand, errors in DigitalOcean's shape, then the resource routes.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { CloudContext } from '../context';
import { ApiError, serverError, tooManyRequests, unauthorized } from './errors';
import { RateLimiter } from './rate-limit';
import type { RequestLog } from '../request-log';
import { registerAccountRoutes } from './routes/account';
import { registerActionRoutes } from './routes/actions';
import { registerDomainRoutes } from './routes/domains';
import { registerDropletRoutes } from './routes/droplets';
import { registerFirewallRoutes } from './routes/firewalls';
import { registerLoadBalancerRoutes } from './routes/load-balancers';
import { registerReservedIpRoutes } from './routes/reserved-ips';
import { registerSnapshotRoutes } from './routes/snapshots';
import { registerSshKeyRoutes } from './routes/ssh-keys';
import { registerTagRoutes } from './routes/tags';
import { registerVolumeRoutes } from './routes/volumes';
import { registerVpcRoutes } from './routes/vpcs';

export interface ApiServerOptions {
  token: string;
  rateLimiter: RateLimiter;
  /** Records every /v2 request with the status it got (refused ones too). */
  requestLog?: RequestLog;
  /** Extra routes outside /v2 (the control endpoints), registered by the caller. */
  registerControl?: (app: FastifyInstance) => void;
}

export function buildApiServer(ctx: CloudContext, options: ApiServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, genReqId: () => randomUUID() });
  const lostResponses = new Map<string, number>();

  // Clients send `Content-Type: application/json` on DELETE with no body; that is not an error.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text as string));
    } catch {
      done(new ApiError(400, 'bad_request', 'request body is not valid JSON'), undefined);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/v2/') && !request.url.startsWith('/_localcloud/')) return;
    if (request.headers.authorization !== `Bearer ${options.token}`) throw unauthorized();
    if (request.url.startsWith('/_localcloud/')) return;
    const verdict = options.rateLimiter.take();
    reply.headers(verdict.headers);
    if (!verdict.allowed) throw tooManyRequests();
    const fault = ctx.faults.decide(request.method, request.url);
    if (fault.latencyMs > 0) await new Promise((r) => setTimeout(r, fault.latencyMs));
    if (fault.status && fault.afterHandling) {
      lostResponses.set(request.id, fault.status);
      return;
    }
    if (fault.status === 429) {
      // A storm, not the account budget: clients may come back after a second.
      reply.header('retry-after', '1');
      throw tooManyRequests();
    }
    if (fault.status) throw serverError(fault.status);
  });

  // Every API request counts, whatever it got back: 401, 429 and injected faults included.
  app.addHook('onResponse', async (request, reply) => {
    if (request.url.startsWith('/v2/')) options.requestLog?.record(request.method, request.url, reply.statusCode);
  });

  // A lost response: the work is done, but the client hears only an error.
  app.addHook('onSend', async (request, reply, payload) => {
    const status = lostResponses.get(request.id);
    if (status === undefined) return payload;
    lostResponses.delete(request.id);
    const error = status === 429 ? tooManyRequests() : serverError(status);
    void reply.code(error.status).header('content-type', 'application/json');
    return JSON.stringify({ id: error.id, message: error.message, request_id: request.id });
  });

  app.setErrorHandler((error, request, reply) => {
    const apiError =
      error instanceof ApiError
        ? error
        : (error as { statusCode?: number }).statusCode === 400
          ? new ApiError(400, 'bad_request', (error as Error).message)
          : new ApiError(500, 'server_error', 'Server was unable to give you a response.');
    if (apiError.status === 500 && !(error instanceof ApiError)) request.log.error(error);
    void reply.code(apiError.status).send({ id: apiError.id, message: apiError.message, request_id: request.id });
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ id: 'not_found', message: 'The resource you were accessing could not be found.', request_id: request.id });
  });

  for (const register of [
    registerAccountRoutes,
    registerSshKeyRoutes,
    registerDropletRoutes,
    registerActionRoutes,
    registerVolumeRoutes,
    registerSnapshotRoutes,
    registerFirewallRoutes,
    registerVpcRoutes,
    registerReservedIpRoutes,
    registerTagRoutes,
    registerLoadBalancerRoutes,
    registerDomainRoutes,
  ]) {
    register(app, ctx);
  }
  options.registerControl?.(app);
  return app;
}
