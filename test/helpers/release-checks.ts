// What the release tests (chaos on the dev server, the production tier on PostgreSQL) check on a
// stack A host after deployRelease: the step a running attempt is in, and that exactly the
// expected images run, each service and each image line once, every service answering its tag.
import { connect, exec } from './droplet-host';
import type { ActivityAttempt } from './run-activities';
import type { ProvisionResult } from '../../src/workflows/environment/provision-environment';

/** Stack A's application ports, by service (examples/stack-a/compose.yaml). */
export const STACK_A_PORTS: Record<string, number> = { frontend: 3000, auth: 8081, fleet: 8082, booking: 8083, payment: 8084 };

/** The deploy step of a running attempt, from its activity and its command's label. */
export function deployStep(attempt: ActivityAttempt): string {
  if (attempt.type === 'waitHealthy') return 'health gate';
  const label = attempt.input.label as string | undefined;
  return (
    { 'running images': 'record running images', 'set images': 'write new images', 'docker compose pull and up': 'pull and start' }[
      label ?? ''
    ] ?? `unknown (${attempt.type} ${label})`
  );
}

/** The host as compose and .env show it: every service line and every image line, duplicates kept. */
async function onHost(
  provisioned: ProvisionResult,
  region: string,
  deployKey: string,
): Promise<{ services: string[]; imageLines: string[] }> {
  const host = provisioned.hosts[0]!;
  const { client } = await connect({ id: host.dropletId, address: host.address, port: provisioned.ssh.port, region }, deployKey);
  try {
    const ps = await exec(client, "cd /opt/app && docker compose ps --format '{{.Service}} {{.Image}}'");
    const envFile = await exec(client, "grep '_IMAGE=' /opt/app/.env");
    return { services: ps.stdout.trim().split('\n').sort(), imageLines: envFile.stdout.trim().split('\n').sort() };
  } finally {
    client.end();
  }
}

/** Exactly these images run on the host, each service once, each image line once, and every service answers its tag. */
export async function expectRunningOnce(
  provisioned: ProvisionResult,
  region: string,
  deployKey: string,
  images: Record<string, string>,
): Promise<void> {
  const all = { ...images, postgres: 'postgres:15' };
  expect(await onHost(provisioned, region, deployKey)).toEqual({
    services: Object.entries(all)
      .map(([service, image]) => `${service} ${image}`)
      .sort(),
    imageLines: Object.entries(images)
      .map(([service, image]) => `${service.toUpperCase()}_IMAGE='${image}'`)
      .sort(),
  });
  for (const [service, image] of Object.entries(images)) {
    const version = await fetch(`http://${provisioned.hosts[0]!.address}:${STACK_A_PORTS[service]}/version`);
    expect([service, (await version.text()).trim()]).toEqual([service, image.split(':').pop()]);
  }
}

/** Requests an application container has answered with `code`, by its /metrics (its own count; /metrics is not counted). */
export async function answeredWith(address: string, port: number, version: string, code: number): Promise<number> {
  const text = await (await fetch(`http://${address}:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`http_requests_total{version="${version}",code="${code}"} `));
  return line ? Number(line.split(' ').pop()) : 0;
}
