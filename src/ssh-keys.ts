// The SSH keys this process may use, by name: OPSFLOW_SSH_KEYS="deploy=/path/key,ops=/path/key2".
// Specs and workflows carry only the name; the worker reads the key file itself (rule 6).
import os from 'node:os';
import path from 'node:path';

export interface SshKeyRef {
  name: string;
  path: string;
}

export function configuredSshKeys(env: NodeJS.ProcessEnv = process.env): SshKeyRef[] {
  const raw = env.OPSFLOW_SSH_KEYS?.trim();
  if (!raw) return [];
  return raw.split(',').map((entry) => {
    const [name, file] = entry.split('=').map((s) => s.trim());
    if (!name || !file || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new Error(`OPSFLOW_SSH_KEYS entry "${entry}" must look like name=/path/to/private_key`);
    }
    return { name, path: path.resolve(file.replace(/^~(?=$|\/)/, os.homedir())) };
  });
}
