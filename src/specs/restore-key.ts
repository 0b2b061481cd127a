// The backup a restoreBackup names must be one of its policy's: inside the policy's folder of the
// bucket, never another policy's object or a key that climbs out with `..`. Pure: the workflow
// checks it at start, before anything is read.
import { policyPrefix } from '../backups/keys';
import type { BackupPolicy } from './backup-policy';

/** Why a restore key is refused for this policy, or undefined when it is one of the policy's. */
export function restoreKeyProblem(policy: Pick<BackupPolicy, 'name' | 'destination'>, key: unknown): string | undefined {
  if (typeof key !== 'string' || key === '') return 'must be a backup key (a string)';
  const folder = policyPrefix(policy.destination.prefix, policy.name);
  if (key.length > 1024) return 'is longer than an object key can be (1024)';
  if (!/^[A-Za-z0-9!_.*'()/-]+$/.test(key)) return "must be a plain object key (letters, digits and !_.*'()/-)";
  if (key.split('/').some((part) => part === '..' || part === '.' || part === '')) return 'must not contain .., . or empty parts';
  if (!key.startsWith(folder) || key.length === folder.length) return `must be a backup of policy ${policy.name}: a key under ${folder}`;
  return undefined;
}
