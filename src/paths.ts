// Where the checkout and its ignored state folder are, whether running from src/ (tests) or dist/.
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** Dev-stack state: Temporal history database, logs, pid files. Ignored by git. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OPSFLOW_STATE_DIR ? path.resolve(env.OPSFLOW_STATE_DIR) : path.join(PROJECT_ROOT, '.opsflow');
}
