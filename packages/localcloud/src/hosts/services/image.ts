// Image references and what an image becomes in a droplet. Known database images run the real
// server binaries; every other image is a small HTTP service whose tag can make it misbehave:
//   a tag containing `unhealthy` answers /health with 503;
//   `erroring` answers every other request (all but /metrics) with 500;
//   `slow` delays every response (all but /metrics) by about 2 s;
//   `crashing` exits with status 1 right after it starts;
//   `missing` does not exist in the registry: pulling it fails (manifest unknown).
// Several combine: `2.0-slow-unhealthy`.
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
}

export function misbehaviourOf(image: ImageRef): Misbehaviour {
  const tag = image.tag.toLowerCase();
  return {
    unhealthy: tag.includes('unhealthy'),
    erroring: tag.includes('erroring'),
    slow: tag.includes('slow'),
    crashing: tag.includes('crashing'),
  };
}

/** Whether the registry has the image: every name does except tags that say `missing`. */
export function imageExists(image: ImageRef): boolean {
  return !image.tag.toLowerCase().includes('missing');
}

/** A stable fake digest, so `docker images` and `pull` print something image-like. */
export function imageDigest(image: ImageRef): string {
  return `sha256:${createHash('sha256').update(`${image.repository}:${image.tag}`).digest('hex')}`;
}
