// No Docker engine runs here, so the production compose file is checked by reading it: the
// services, pinned images, ports, start order, health checks and the admin job's work.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { cliTypeName, OPS_SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  environment?: Record<string, string>;
  command?: string[];
}

const root = path.join(__dirname, '..', '..');
const compose = parse(readFileSync(path.join(root, 'docker-compose.temporal.yml'), 'utf8')) as { services: Record<string, Service> };
const services = compose.services;

test('it runs the five services the design asks for', () => {
  expect(Object.keys(services).sort()).toEqual(['opsflow-worker', 'postgresql', 'temporal', 'temporal-admin-tools', 'temporal-ui']);
});

test('every image is pinned to a version', () => {
  for (const [name, service] of Object.entries(services)) {
    if (service.build) continue;
    expect({ name, image: service.image }).toEqual({ name, image: expect.stringMatching(/^[\w./-]+:\d+\.\d+(\.\d+)?$/) });
  }
});

test('Temporal runs on PostgreSQL and starts after it is healthy', () => {
  expect(services.temporal?.environment?.DB).toBe('postgres12');
  expect(services.temporal?.environment?.POSTGRES_SEEDS).toBe('postgresql');
  expect(services.temporal?.depends_on?.postgresql?.condition).toBe('service_healthy');
});

test('ports: gRPC 7233 and the Web UI 8080 are published', () => {
  expect(services.temporal?.ports).toContain('7233:7233');
  expect(services['temporal-ui']?.ports).toContain('8080:8080');
  expect(services['temporal-ui']?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
});

test('long-running services have health checks', () => {
  for (const name of ['postgresql', 'temporal', 'temporal-ui', 'opsflow-worker']) {
    expect(services[name]?.healthcheck?.test?.length).toBeGreaterThan(1);
  }
});

test('the admin job creates the namespace and every opsflow search attribute', () => {
  const script = services['temporal-admin-tools']?.command?.join('\n') ?? '';
  expect(script).toContain('temporal operator namespace create');
  // Each with its type (name:Type in the loop, split before `--type`).
  for (const key of OPS_SEARCH_ATTRIBUTES) expect(script).toContain(`${key.name}:${cliTypeName(key)}`);
  expect(script).toContain('--type "$${attribute##*:}"');
  expect(services['temporal-admin-tools']?.depends_on?.temporal?.condition).toBe('service_healthy');
});

test('the worker is built from the repo Dockerfile and waits for the admin job', () => {
  const worker = services['opsflow-worker'];
  expect(worker?.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
  expect(existsSync(path.join(root, 'Dockerfile'))).toBe(true);
  expect(readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toMatch(/CMD \["node", "dist\/worker\.js"\]/);
  expect(worker?.depends_on?.['temporal-admin-tools']?.condition).toBe('service_completed_successfully');
  expect(worker?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
});

test('the worker is given the payload encryption keys, and compose refuses to start without them', () => {
  expect(services['opsflow-worker']?.environment?.OPSFLOW_CODEC_KEYS).toMatch(/^\$\{OPSFLOW_CODEC_KEYS:\?.+\}$/);
});
