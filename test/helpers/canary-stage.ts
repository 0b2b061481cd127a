// The stage a canary runs on, shared by the chaos test and the rollout benchmark: two droplets with
// the simulated `shop` application (compose), Debian's nginx in the first in front of both (its
// site proxies to the upstream the rollout writes), and the rollout spec's pieces. Nothing here
// depends on jest, so bench/ uses it too.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, type SshConnection } from '../../src/integrations/ssh';
import { generateLoad, type LoadTally } from '../../src/rollouts/load-generator';
import { parseJournal, type JournalEntry } from '../../src/rollouts/traffic/nginx-router';
import { loadEnvironmentSpec } from '../../src/specs/load';
import type { EnvironmentSpec } from '../../src/specs/environment';
import type { RolloutSpecInput } from '../../src/specs/rollout';
import type { ProvisionResult } from '../../src/workflows/environment/provision-environment';
import { tempDir } from './temp';
import { until } from './until';

export const APP_PORT = 8080;
export const UPSTREAM = 'shop';
export const UPSTREAM_FILE = '/etc/nginx/opsflow/shop.conf';
/** The site includes every *.conf here (none by default); a test's gate puts a FIFO here. */
export const GATE_DIR = '/etc/nginx/opsflow-gate';

/** Droplets of the stage: the group's name and count (default `app`, 2: instances app-1, app-2; one droplet is named as its group). */
export interface StageDroplets {
  name: string;
  count: number;
}

/** Two droplets with the shop application (compose); app-1 is also nginx's front host (or `droplets` of it). */
export function canaryEnvironmentSpec(name: string, droplets: StageDroplets = { name: 'app', count: 2 }): EnvironmentSpec {
  const dir = tempDir('canary-env');
  writeFileSync(
    path.join(dir, 'compose.yaml'),
    `services:\n  shop:\n    image: \${SHOP_IMAGE:-ghcr.io/acme/shop:1.0}\n    ports: ["${APP_PORT}:80"]\n`,
  );
  writeFileSync(
    path.join(dir, 'env.yaml'),
    [
      `name: ${name}`,
      'region: fra1',
      'firewall:',
      '  inbound:',
      '    - { protocol: tcp, ports: "22" }',
      '    - { protocol: tcp, ports: "80" }',
      `    - { protocol: tcp, ports: "${APP_PORT}" }`,
      'droplets:',
      `  - { name: ${droplets.name}, count: ${droplets.count}, size: s-1vcpu-1gb, image: ubuntu-22-04-x64 }`,
      'ssh: { user: root, key: deploy }',
      'bootstrap:',
      '  packages: [docker.io, docker-compose-plugin]',
      '  directories: [{ path: /opt/shop }]',
      'application:',
      '  directory: /opt/shop',
      '  composeFile: compose.yaml',
      '  images: { shop: ghcr.io/acme/shop:1.0 }',
      `healthChecks: [{ name: shop, port: ${APP_PORT}, path: /health, intervalSeconds: 1, attempts: 5 }]`,
      'onFailure: rollback',
      '',
    ].join('\n'),
  );
  return loadEnvironmentSpec(path.join(dir, 'env.yaml'));
}

export function hostOf(provisioned: ProvisionResult, instance: string) {
  const found = provisioned.hosts.find((h) => h.instance === instance);
  if (!found) throw new Error(`no host ${instance} in ${provisioned.hosts.map((h) => h.instance).join(', ')}`);
  return found;
}

export async function ok(connection: SshConnection, script: string, args: string[] = []): Promise<string> {
  const result = await connection.execScript(script, args, { timeoutMs: 120_000 });
  if (result.exitCode !== 0) throw new Error(`\`${script}\` exited ${result.exitCode}: ${result.stdoutTail}${result.stderrTail}`);
  return result.stdoutTail;
}

/** Debian's nginx in app-1 (or `frontInstance`), in front of the fleet; returns an SSH connection to it (host key pinned). */
export async function setUpFrontNginx(provisioned: ProvisionResult, deployKey: string, frontInstance = 'app-1'): Promise<SshConnection> {
  const first = hostOf(provisioned, frontInstance);
  const front = await connect({
    host: first.address,
    port: provisioned.ssh.port,
    username: 'root',
    privateKey: deployKey,
    hostKey: { pinned: [first.hostKey] },
  });
  await ok(front, 'apt-get install -y nginx-light');
  await front.putFile(
    '/etc/nginx/sites-available/shop',
    `include ${GATE_DIR}/*.conf;\nserver {\n\tlisten ${first.address}:80 default_server;\n\tlocation / { proxy_pass http://${UPSTREAM}; proxy_next_upstream off; }\n}\n`,
  );
  await ok(
    front,
    'mkdir -p "$1" && rm -f /etc/nginx/sites-enabled/default && ln -sf /etc/nginx/sites-available/shop /etc/nginx/sites-enabled/shop',
    [GATE_DIR],
  );
  await ok(
    front,
    'printf "upstream shop {\\n    server %s:%s;\\n}\\n" "$1" "$2" > /etc/nginx/opsflow/shop.conf && nginx -t && if systemctl is-active nginx >/dev/null; then systemctl reload nginx; else systemctl start nginx; fi',
    [first.address, String(APP_PORT)],
  );
  // The reload is a signal: wait until nginx takes a configuration test again before the rollouts start.
  await until(
    'nginx -t to pass after the reload',
    async () => ((await front.execScript('nginx -t -q', [], { timeoutMs: 30_000 })).exitCode === 0 ? true : undefined),
    60_000,
  );
  return front;
}

/**
 * What the error-ratio analysis measures: the canary's 5xx share over the last 5 s, only while it
 * serves more than one request a second (the health gate's few probes are not traffic: no data).
 */
export const ERROR_RATIO =
  '(sum(rate(http_requests_total{version="{{args.canary-version}}",code=~"5.."}[5s])) or vector(0))' +
  ' / (sum(rate(http_requests_total{version="{{args.canary-version}}"}[5s])) > 1)';

export function canaryRolloutSpec(
  environment: string,
  prometheusAddress: string,
  steps: unknown[],
  metric: Record<string, unknown> = {},
): RolloutSpecInput {
  return {
    environment,
    fleet: { instances: ['app-1', 'app-2'], port: APP_PORT },
    prometheus: { address: prometheusAddress },
    traffic: { nginx: { upstream: UPSTREAM, frontHost: 'app-1' } },
    canary: { maxSurge: 0, maxUnavailable: 1, steps: steps as never },
    analysisTemplates: {
      errors: {
        metrics: [
          {
            name: 'error-ratio',
            query: ERROR_RATIO,
            interval: '1s',
            count: 3,
            initialDelay: '3s',
            successCondition: 'result < 0.01',
            inconclusiveLimit: 2,
            ...metric,
          },
        ],
      },
    },
  };
}

/**
 * Requests through nginx on app-1 until `stop()`; the tally counts answers by version. Each request
 * may take `requestTimeoutMs` (the load generator's 5 s by default) before it counts as failed.
 */
export function loadThroughNginx(
  provisioned: ProvisionResult,
  onAnswer?: (done: number) => void,
  requestTimeoutMs?: number,
): { stop: () => Promise<LoadTally> } {
  let enough = false;
  const running = generateLoad(`http://${hostOf(provisioned, 'app-1').address}/version`, {
    total: 1_000_000,
    deadlineMs: 900_000,
    requestTimeoutMs,
    enough: () => enough,
    onAnswer,
  });
  return {
    stop: async () => {
      enough = true;
      return running;
    },
  };
}

export async function versionOn(provisioned: ProvisionResult, instance: string): Promise<string> {
  const ask = () => fetch(`http://${hostOf(provisioned, instance).address}:${APP_PORT}/version`);
  let answer = await ask();
  // An `-errN` version answers 500 to exactly every (100/N)th request, so the next one answers.
  if (answer.status === 500) answer = await ask();
  return (await answer.text()).trim();
}

/** The nginx router's own record on the front host: every split it put in place, oldest first. */
export async function nginxJournal(front: SshConnection): Promise<JournalEntry[]> {
  const result = await front.execScript('cat "$1" 2>/dev/null || true', [`${UPSTREAM_FILE}.journal`], {
    timeoutMs: 60_000,
    tailBytes: 1024 * 1024,
  });
  return parseJournal(result.stdoutTail);
}
