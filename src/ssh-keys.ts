// The SSH keys this process may use, by name: OPSFLOW_SSH_KEYS="deploy=/path/key,ops=/path/key2".
// Specs and workflows carry only the name; the worker reads the key file itself (rule 6).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { utils } from 'ssh2';

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

/** The private key named `name`, read from its file. Never logged, never put in workflow history. */
export function readPrivateKey(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const ref = configuredSshKeys(env).find((k) => k.name === name);
  if (!ref) throw new Error(`no SSH key named ${name}: add it to OPSFLOW_SSH_KEYS as ${name}=/path/to/private_key`);
  return readFileSync(ref.path, 'utf8');
}

/** The OpenSSH public key ("ssh-ed25519 AAAA...") of the private key named `name`. */
export function publicKeyOf(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const parsed = utils.parseKey(readPrivateKey(name, env));
  if (parsed instanceof Error) throw new Error(`the SSH key named ${name} cannot be read: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return `${key.type} ${key.getPublicSSH().toString('base64')}`;
}
