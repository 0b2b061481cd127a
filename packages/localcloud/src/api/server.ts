// The DigitalOcean API v2 over HTTP: bearer-token auth, the account rate limit with its headers,
// faults on demand, errors in DigitalOcean's shape, then the resource routes. Every check runs on
// the path the router matches (gate.ts); the control API (/_localcloud) takes its own token.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { CloudContext } from '../context';
import type { Credentials } from './credentials';
import { answerUnreadableRequest, ApiError, badRequest, fromFrameworkError, serverError, tooManyRequests, unauthorized } from './errors';
import { Gates, isAuthorizedControl } from './gate';
import type { RateLimits } from './rate-limit';
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
import { registerCloudflareRoutes } from '../cloudflare/api';
import { registerVpcRoutes } from './routes/vpcs';
import { registerLinodeApi } from './routes/linode';

/** Fastify's default, stated: a larger body is answered 413. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface ApiServerOptions {
  credentials: Credentials;
  rateLimits: RateLimits;
  /** Records every request with the status it got (refused ones too), but authorized control calls. */
  requestLog?: RequestLog;
  /** Extra routes outside /v2 (the control endpoints), registered by the caller. */
  registerControl?: (app: FastifyInstance) => void;
}

export function buildApiServer(ctx: CloudContext, options: ApiServerOptions): FastifyInstance {
  const gates = new Gates(options.credentials);
  const app = Fastify({
    logger: false,
    genReqId: () => randomUUID(),
    bodyLimit: BODY_LIMIT_BYTES,
    rewriteUrl: (raw) => gates.route(raw),
    clientErrorHandler: answerUnreadableRequest,
  });
  const lostResponses = new Map<string, number>();

  // JSON only: any other content type is a 415. Clients send `Content-Type: application/json` on
  // DELETE with no body; that is not an error.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text as string));
    } catch {
      done(new ApiError(400, 'bad_request', 'request body is not valid JSON'), undefined);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const gate = gates.of(request.raw);
    if (isAuthorizedControl(gate)) return;
    // Counted before anything is refused: a request without a valid token spends the anonymous
    // budget, so guessing is limited too and a 401 reports that budget in its headers.
    const verdict = (gate.apiToken ? options.rateLimits.account : options.rateLimits.anonymous).take();
    reply.headers(verdict.headers);
    if (!verdict.allowed) throw tooManyRequests();
    if (!gate.target.ok) throw badRequest(gate.target.reason);
    if (gate.control || !gate.apiToken) throw unauthorized();
    const fault = ctx.faults.decide(request.method, gate.url);
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

  // Every request counts, whatever it got back: 400, 401, 429 and injected faults included.
  app.addHook('onResponse', async (request, reply) => {
    const gate = gates.of(request.raw);
    if (!isAuthorizedControl(gate)) options.requestLog?.record(request.method, gate.url, reply.statusCode, gate.sent);
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
    const apiError = fromFrameworkError(error, BODY_LIMIT_BYTES);
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
  // Linode's API v4 beside DigitalOcean's v2, in Linode's own error shape (its own Fastify scope).
  registerLinodeApi(app, ctx, BODY_LIMIT_BYTES);
  // Cloudflare's API v4 under /client/v4, in Cloudflare's envelope (its own Fastify scope).
  registerCloudflareRoutes(app, ctx);
  options.registerControl?.(app);
  return app;
}
