// What the docker and compose command handlers share: the droplet, its containers and its state,
// and pulling (which only records the image: the binaries are the machine's own).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hostPath, type DropletSandbox } from '../sandbox';
import type { Containers } from './containers';
import { DaemonError } from './containers';
import { imageDigest, imageExists, parseImage } from './image';
import { parseEnvFile } from './interpolate';
import { UsageError, type Invocation } from './protocol';
import type { ServicesState } from './state';

export interface DropletRuntime {
  sandbox: DropletSandbox;
  containers: Containers;
  state: ServicesState;
  save(): void;
  /** Runs a change to containers after any other change in progress has finished. */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
}

/** Pulls an image: fails like a registry for a tag that says `missing`, else records it. */
export function pullImage(runtime: DropletRuntime, reference: string): { digest: string; fresh: boolean } {
  const image = parseImage(reference);
  if (!imageExists(image)) throw new DaemonError(`manifest for ${reference} not found: manifest unknown: manifest unknown`);
  const fresh = !(reference in runtime.state.images);
  runtime.state.images[reference] = new Date().toISOString();
  runtime.save();
  return { digest: imageDigest(image), fresh };
}

export function isPulled(runtime: DropletRuntime, reference: string): boolean {
  return reference in runtime.state.images;
}

export function tailOption(value: string | undefined): number | undefined {
  if (value === undefined || value === 'all') return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`invalid value for --tail: ${value}`, 1);
  return Number(value);
}

/** `-e NAME=value`, `-e NAME` (taken from the caller) and `--env-file` for exec and run. */
export function execEnv(inv: Invocation, runtime: DropletRuntime, pairs: string[], files: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const file of files) {
    const full = path.posix.resolve(inv.request.cwd, file);
    try {
      Object.assign(
        env,
        parseEnvFile(readFileSync(hostPath(runtime.sandbox, full), 'utf8'), () => undefined, full),
      );
    } catch (error) {
      throw new UsageError(`open ${full}: ${(error as Error).message}`, 125);
    }
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq === -1) {
      const value = inv.request.env[pair];
      if (value !== undefined) env[pair] = value;
    } else {
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}
