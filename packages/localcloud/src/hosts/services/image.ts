// Image references and what an image becomes in a droplet. Known database images run the real
// server binaries; every other image is a small HTTP service whose tag can make it misbehave:
//   a tag containing `unhealthy` answers /health with 503;
//   `erroring` answers every other request (all but /metrics) with 500;
//   `slow` delays every response (all but /metrics) by about 2 s;
//   `errN` (0-100, e.g. `2.1.0-err5`) answers exactly N of every 100 application requests with 500,
//     by request count (the 20th, 40th, ... for err5), never /health: it passes its health gate;
//   `slowN` (milliseconds, e.g. `2.1.0-slow800`) adds N ms to every application request, not /health;
//   `crashing` exits with status 1 right after it starts;
//   `missing` does not exist in the registry: pulling it fails (manifest unknown).
// Several combine: `2.0-slow-unhealthy`, `2.1.0-err5-slow200`.
import { createHash } from 'node:crypto';

export type ImageKind = 'postgres' | 'mariadb' | 'redis' | 'app';

export interface ImageRef {
  /** As written, e.g. registry.example.com/team/api:1.4.2 */
  reference: string;
  /** Repository without registry or tag: `team/api`, `library/postgres` shortened to `postgres`. */
  repository: string;
  tag: string;
}

export function parseImage(reference: string): ImageRef {
  if (!/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/.test(reference) || reference.includes('//'))
    throw new Error(`invalid reference format: ${reference}`);
  const withoutDigest = reference.split('@')[0]!;
  const parts = withoutDigest.split('/');
  // A first part with a dot, a port or `localhost` names a registry, as Docker reads it.
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!)) parts.shift();
  const last = parts.pop()!;
  const colon = last.lastIndexOf(':');
  const name = colon === -1 ? last : last.slice(0, colon);
  const tag = colon === -1 ? 'latest' : last.slice(colon + 1);
  const repository = [...parts, name].join('/').replace(/^library\//, '');
  if (!name || !tag) throw new Error(`invalid reference format: ${reference}`);
  return { reference, repository, tag };
}

const KNOWN: Record<string, ImageKind> = {
  postgres: 'postgres',
  postgresql: 'postgres',
  postgis: 'postgres',
  mariadb: 'mariadb',
  mysql: 'mariadb',
  'mysql-server': 'mariadb',
  redis: 'redis',
  valkey: 'redis',
  'redis-stack-server': 'redis',
};

export function imageKind(image: ImageRef): ImageKind {
  const base = image.repository.split('/').pop()!;
  return KNOWN[base] ?? 'app';
}

export interface Misbehaviour {
  unhealthy: boolean;
  erroring: boolean;
  slow: boolean;
  crashing: boolean;
  /** `errN`: N of every 100 application requests answer 500 (0 when the tag does not say). */
  errorsPerHundred: number;
  /** `slowN`: milliseconds added to every application request. */
  addedLatencyMs: number;
  /** Why the tag cannot run (`err150`): the service refuses to start, naming it. */
  invalid?: string;
}

/** Longest `slowN` delay: longer would outlast every client's timeout anyway. */
export const MAX_ADDED_LATENCY_MS = 60_000;

export function misbehaviourOf(image: ImageRef): Misbehaviour {
  const tag = image.tag.toLowerCase();
  // A word of the tag: `err5` in `2.1.0-err5` or `err5-slow200`, not `terr5` or `err5x`.
  const numbered = (word: string) => new RegExp(`(?:^|[-_.])${word}(\\d+)(?=$|[-_.])`).exec(tag)?.[1];
  const errors = numbered('err');
  const latency = numbered('slow');
  const problems: string[] = [];
  if (errors !== undefined && Number(errors) > 100) problems.push(`err${errors}: N must be 0-100 (requests of every 100 that fail)`);
  if (latency !== undefined && Number(latency) > MAX_ADDED_LATENCY_MS)
    problems.push(`slow${latency}: N must be at most ${MAX_ADDED_LATENCY_MS} (milliseconds)`);
  return {
    unhealthy: tag.includes('unhealthy'),
    erroring: tag.includes('erroring'),
    slow: /slow(?!\d)/.test(tag),
    crashing: tag.includes('crashing'),
    errorsPerHundred: errors === undefined ? 0 : Math.min(Number(errors), 100),
    addedLatencyMs: latency === undefined ? 0 : Math.min(Number(latency), MAX_ADDED_LATENCY_MS),
    ...(problems.length > 0 ? { invalid: problems.join('; ') } : {}),
  };
}

/** Whether the `number`th application request fails under `errN`: spread evenly, exactly N per 100. */
export function failsUnderErrorRate(number: number, errorsPerHundred: number): boolean {
  return Math.floor((number * errorsPerHundred) / 100) > Math.floor(((number - 1) * errorsPerHundred) / 100);
}

/** Whether the registry has the image: every name does except tags that say `missing`. */
export function imageExists(image: ImageRef): boolean {
  return !image.tag.toLowerCase().includes('missing');
}

/** A stable fake digest, so `docker images` and `pull` print something image-like. */
export function imageDigest(image: ImageRef): string {
  return `sha256:${createHash('sha256').update(`${image.repository}:${image.tag}`).digest('hex')}`;
}
