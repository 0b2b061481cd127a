// One health probe of one origin, as a Cloudflare monitor describes it: an HTTP request whose
// status (and body, if asked) must match, or a TCP connection that must open, within the timeout.
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Monitor } from 'cloudflare/resources/load-balancers/monitors/monitors';

export interface ProbeResult {
  healthy: boolean;
  failure_reason: string;
  response_code?: number;
  rtt: string;
}

export interface ProbeTarget {
  address: string;
  port: number;
}

function codeMatches(expected: string, status: number): boolean {
  return expected.endsWith('xx') ? String(status)[0] === expected[0] : String(status) === expected;
}

function probeHttp(monitor: Monitor, target: ProbeTarget, timeoutMs: number): Promise<Omit<ProbeResult, 'rtt'>> {
  return new Promise((resolve) => {
    const headers = Object.fromEntries(Object.entries(monitor.header ?? {}).map(([k, v]) => [k, v.join(', ')]));
    const req = request(
      {
        host: target.address,
        port: target.port,
        method: monitor.method ?? 'GET',
        path: monitor.path || '/',
        headers,
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const body = Buffer.concat(chunks).toString('utf8');
          if (!codeMatches(monitor.expected_codes || '200', status))
            resolve({
              healthy: false,
              failure_reason: `HTTP response code ${status} does not match expected_codes`,
              response_code: status,
            });
          else if (monitor.expected_body && !body.toLowerCase().includes(monitor.expected_body.toLowerCase()))
            resolve({ healthy: false, failure_reason: 'Response body does not contain expected_body', response_code: status });
          else resolve({ healthy: true, failure_reason: 'No failures', response_code: status });
        });
        res.on('error', (err) => resolve({ healthy: false, failure_reason: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('TCP connection timed out')));
    req.on('error', (err) =>
      resolve({
        healthy: false,
        failure_reason: (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'TCP connection failed' : err.message,
      }),
    );
    req.end();
  });
}

function probeTcp(target: ProbeTarget, timeoutMs: number): Promise<Omit<ProbeResult, 'rtt'>> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.address, port: target.port, timeout: timeoutMs });
    socket.on('connect', () => {
      socket.destroy();
      resolve({ healthy: true, failure_reason: 'No failures' });
    });
    socket.on('timeout', () => socket.destroy(new Error('TCP connection timed out')));
    socket.on('error', (err) => resolve({ healthy: false, failure_reason: err.message }));
  });
}

/** Probes once, then retries (monitor.retries) while it fails, as one check. */
export async function probeOrigin(monitor: Monitor, target: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (monitor.timeout ?? 5) * 1000;
  const started = process.hrtime.bigint();
  let result: Omit<ProbeResult, 'rtt'> = { healthy: false, failure_reason: 'not probed' };
  for (let attempt = 0; attempt <= (monitor.retries ?? 0); attempt++) {
    result = monitor.type === 'tcp' ? await probeTcp(target, timeoutMs) : await probeHttp(monitor, target, timeoutMs);
    if (result.healthy) break;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { ...result, rtt: `${ms.toFixed(1)}ms` };
}
