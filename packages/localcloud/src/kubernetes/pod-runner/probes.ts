// A container's probes as the kubelet runs them, from this machine to the pod's address: httpGet
// (any status from 200 to 399 passes; anything else, a refused connection or no answer within
// timeoutSeconds fails) and tcpSocket (a connection passes). exec and grpc probes cannot be run
// against the simulated application: they pass, and the pod says so in its container's message.
import http from 'node:http';
import net from 'node:net';
import type { Container, Probe } from './kube-types';

export interface ProbeResult {
  ok: boolean;
  /** Why it failed, as the kubelet's Unhealthy events say it. */
  detail: string;
}

/** A probe's port: a number, or the name of one of the container's ports. */
export function probePort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export function unsupportedProbe(probe: Probe | undefined): string | undefined {
  if (!probe) return undefined;
  if (probe.exec) return 'exec';
  if (probe.grpc) return 'grpc';
  return undefined;
}

export async function runProbe(probe: Probe, container: Container, podAddress: string): Promise<ProbeResult> {
  const timeoutMs = Math.max(1, probe.timeoutSeconds ?? 1) * 1_000;
  if (probe.httpGet) {
    const port = probePort(container, probe.httpGet.port);
    if (port === undefined) return { ok: false, detail: `the probe's port ${probe.httpGet.port} is not a port of the container` };
    const host = probe.httpGet.host || podAddress;
    const path = probe.httpGet.path || '/';
    const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.34', Accept: '*/*' };
    for (const header of probe.httpGet.httpHeaders ?? []) headers[header.name] = header.value;
    const scheme = (probe.httpGet.scheme ?? 'HTTP').toLowerCase();
    if (scheme !== 'http') return { ok: false, detail: `scheme ${probe.httpGet.scheme}: the simulated application speaks HTTP only` };
    return httpProbe(host, port, path, headers, timeoutMs);
  }
  if (probe.tcpSocket) {
    const port = probePort(container, probe.tcpSocket.port);
    if (port === undefined) return { ok: false, detail: `the probe's port ${probe.tcpSocket.port} is not a port of the container` };
    return tcpProbe(probe.tcpSocket.host || podAddress, port, timeoutMs);
  }
  return { ok: true, detail: '' };
}

function httpProbe(host: string, port: number, path: string, headers: Record<string, string>, timeoutMs: number): Promise<ProbeResult> {
  const url = `http://${host}:${port}${path.startsWith('/') ? path : `/${path}`}`;
  return new Promise((resolve) => {
    const req = http.get(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.on('end', () =>
        resolve(
          status >= 200 && status < 400 ? { ok: true, detail: '' } : { ok: false, detail: `HTTP probe failed with statuscode: ${status}` },
        ),
      );
      res.on('error', (error) => resolve({ ok: false, detail: `Get "${url}": ${error.message}` }));
    });
    req.on('timeout', () => req.destroy(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)')));
    req.on('error', (error) => resolve({ ok: false, detail: `Get "${url}": ${error.message}` }));
  });
}

/** Whether a TCP connection to host:port opens within timeoutMs (also how rabbitmq pods look for the machine's epmd). */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, detail: `dial tcp ${host}:${port}: i/o timeout` }));
    socket.once('connect', () => done({ ok: true, detail: '' }));
    socket.once('error', (error) => done({ ok: false, detail: `dial tcp ${host}:${port}: ${error.message}` }));
  });
}
