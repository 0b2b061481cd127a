// Helpers for the two commands that load the local cloud package (`opsflow up` with no
// DIGITALOCEAN_TOKEN, `opsflow localcloud ...`); they import it themselves, lazily, so the worker
// and every other command never load it. This module does not import it.
import path from 'node:path';
import { stateDir } from '../paths';

/** Where `opsflow up` and `opsflow localcloud` keep the local cloud: its token, keys, droplets, endpoint.json. */
export const localCloudDir = (env: NodeJS.ProcessEnv = process.env) => path.join(stateDir(env), 'localcloud');

/** The port `opsflow up` starts the local cloud's API on (Spaces takes the next one). */
export const LOCALCLOUD_PORT = 7300;

/** The package, or an error that says why it is absent and what to do instead. */
export async function explainMissingLocalCloud<T>(loading: Promise<T>): Promise<T> {
  try {
    return await loading;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    throw new Error(
      'the local cloud (@opsflow/localcloud) is not installed here (the worker image leaves it out): run from a checkout after `npm ci`, or set DIGITALOCEAN_TOKEN to use DigitalOcean',
    );
  }
}
