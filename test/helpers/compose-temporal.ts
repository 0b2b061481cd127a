// What docker-compose.temporal.yml tells the Temporal server and its admin job, read from the file
// itself so the production test tier (test/production) runs what users run, not a copy of it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/paths';

export const COMPOSE_FILE = path.join(PROJECT_ROOT, 'docker-compose.temporal.yml');

interface ComposeService {
  image?: string;
  environment?: Record<string, string | number>;
  entrypoint?: string[];
  command?: string[];
}

export interface ComposeTemporal {
  /** The tag of the `temporal` service's image (temporalio/auto-setup:<tag>). */
  serverVersion: string;
  /** The `temporal` service's environment, with ${VAR:-default} resolved to its default. */
  serverEnvironment: Record<string, string>;
  /** The admin job's shell script (its `command`), with compose's `$$` turned back into `$`. */
  adminScript: string;
  /** The admin job's environment, resolved the same way. */
  adminEnvironment: Record<string, string>;
}

/**
 * ${VAR:-default} becomes its default and ${VAR} a clear error: the tests run the file's own
 * defaults, whatever the machine's environment holds.
 */
export function resolveComposeValue(value: string | number, where: string): string {
  return String(value).replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (whole, name: string, fallback: string | undefined) => {
    if (fallback === undefined)
      throw new Error(`${where}: ${whole} has no default, and the tests do not take ${name} from the environment`);
    return fallback;
  });
}

function resolveEnvironment(service: ComposeService, name: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, resolveComposeValue(value, `${name}.${key}`)]),
  );
}

export function readComposeTemporal(file = COMPOSE_FILE): ComposeTemporal {
  const { services } = parse(readFileSync(file, 'utf8')) as { services: Record<string, ComposeService> };
  const server = services.temporal;
  const admin = services['temporal-admin-tools'];
  if (!server?.image || !admin?.command)
    throw new Error(`${file}: expected the services temporal (with an image) and temporal-admin-tools (with a command)`);
  const tag = server.image.split(':')[1];
  if (!tag) throw new Error(`${file}: the temporal service's image ${server.image} names no version`);
  if (admin.entrypoint?.join(' ') !== '/bin/sh -c' || admin.command.length !== 1)
    throw new Error(`${file}: temporal-admin-tools is expected to run one script with /bin/sh -c`);
  return {
    serverVersion: tag,
    serverEnvironment: resolveEnvironment(server, 'temporal'),
    adminScript: admin.command[0]!.replaceAll('$$', '$'),
    adminEnvironment: resolveEnvironment(admin, 'temporal-admin-tools'),
  };
}
