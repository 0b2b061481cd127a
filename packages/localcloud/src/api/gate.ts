// What a request is, decided once from the normalized path and its headers, and used alike by the
// credential check, the rate limit, the request log and the router.
import type { IncomingMessage } from 'node:http';
import { carriesApiToken, carriesControlToken, type Credentials } from './credentials';
import { isControlPath, normalizeTarget, type RequestTarget } from './request-target';

export interface Gate {
  target: RequestTarget;
  /** The control API's area (`/_localcloud`, any case or encoding), not DigitalOcean's. */
  control: boolean;
  apiToken: boolean;
  /** The control token, from the machine itself (127.0.0.1 or ::1, not a droplet's address). */
  controlToken: boolean;
  /** Path and query as checked (decoded, normalized), or as sent when they could not be read. */
  url: string;
  sent: string;
}

// Droplets have addresses of their own (127.N.x.y); the control API answers only the machine.
const MACHINE_ADDRESSES = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export class Gates {
  private readonly gates = new WeakMap<IncomingMessage, Gate>();

  constructor(private readonly credentials: Credentials) {}

  /** For Fastify's rewriteUrl: the URL the router gets is the one the gate checked. */
  route(raw: IncomingMessage): string {
    const { target } = this.of(raw);
    // An unreadable path goes nowhere; the gate answers it with a 400 before any route runs.
    return target.ok ? target.routeUrl : '/';
  }

  of(raw: IncomingMessage): Gate {
    let gate = this.gates.get(raw);
    if (!gate) {
      const sent = raw.url ?? '';
      const target = normalizeTarget(sent);
      gate = {
        target,
        control: target.ok && isControlPath(target.path),
        apiToken: carriesApiToken(raw.headers, this.credentials),
        controlToken: carriesControlToken(raw.headers, this.credentials) && MACHINE_ADDRESSES.has(raw.socket.remoteAddress ?? ''),
        url: target.ok ? target.path + (target.query ? `?${target.query}` : '') : sent,
        sent,
      };
      this.gates.set(raw, gate);
    }
    return gate;
  }
}

/** A control call with its credential: neither rate-limited nor in the request log. */
export const isAuthorizedControl = (gate: Gate) => gate.control && gate.controlToken;
