// Which environment a backup policy belongs to: the one its targets live in (`in.environment`, or a
// snapshot's `environment`). Runs and schedules are listed under it (OpsEnvironment) and attached
// to its inventory. Pure: the CLI and the backup workflows share it.
import type { BackupPolicy } from '../../specs/backup-policy';

/** Every environment the policy's targets name, in target order, each once. */
export function policyEnvironments(policy: Pick<BackupPolicy, 'targets'>): string[] {
  const names = policy.targets
    .map((t) => ('environment' in t ? t.environment : t.in?.environment))
    .filter((n): n is string => typeof n === 'string');
  return [...new Set(names)];
}

/**
 * The OpsEnvironment a policy's runs carry: its environment; with targets in several, the first
 * (a keyword holds one value); with none (databases reached by connection only), the policy's name.
 */
export function policyEnvironment(policy: Pick<BackupPolicy, 'name' | 'targets'>): string {
  return policyEnvironments(policy)[0] ?? policy.name;
}
