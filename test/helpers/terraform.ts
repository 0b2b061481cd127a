// Running Terraform with DigitalOcean's provider against a local cloud: where the provider binary
// is (OPSFLOW_TF_PROVIDER_DIR, or the cached build), a CLI config whose dev_overrides point at it
// (so nothing is fetched from a registry and no `terraform init` is needed), and each command run
// as a program with an argument array, the token passed in the environment only.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PROVIDER_BINARY = 'terraform-provider-digitalocean';
/** Where scripts build it (README, "Terraform against the local cloud"). */
export const CACHED_PROVIDER_DIR = path.join(os.homedir(), '.cache', 'opsflow');

export type TerraformSetup = { ok: true; providerDir: string; terraform: string; version: string } | { ok: false; reason: string };

/** The provider directory and the terraform program, or why this machine cannot run them. */
export function findTerraformSetup(env: NodeJS.ProcessEnv = process.env): TerraformSetup {
  const providerDir = env.OPSFLOW_TF_PROVIDER_DIR || CACHED_PROVIDER_DIR;
  if (!existsSync(path.join(providerDir, PROVIDER_BINARY)))
    return {
      ok: false,
      reason: `no ${PROVIDER_BINARY} in ${providerDir} (set OPSFLOW_TF_PROVIDER_DIR to the folder holding DigitalOcean's provider build)`,
    };
  const terraform = env.OPSFLOW_TERRAFORM || 'terraform';
  const version = spawnSync(terraform, ['version'], { encoding: 'utf8' });
  if (version.status !== 0) return { ok: false, reason: `${terraform} is not runnable here (${version.error?.message ?? version.stderr})` };
  return { ok: true, providerDir, terraform, version: version.stdout.split('\n')[0] ?? '' };
}

/** A Terraform CLI config that takes digitalocean/digitalocean from `providerDir`, never a registry. */
export function writeCliConfig(file: string, providerDir: string): string {
  writeFileSync(
    file,
    [
      'provider_installation {',
      '  dev_overrides {',
      `    "digitalocean/digitalocean" = ${JSON.stringify(providerDir)}`,
      '  }',
      '  direct {}',
      '}',
      '',
    ].join('\n'),
  );
  return file;
}

export interface TerraformRun {
  code: number;
  output: string;
  ms: number;
}

export interface Terraform {
  run(args: string[]): Promise<TerraformRun>;
}

/**
 * Terraform in `workDir` (its config and state) against the cloud at `apiUrl`. Variables go in as
 * TF_VAR_*; the token as DIGITALOCEAN_TOKEN, never on a command line.
 */
export function terraformIn(
  setup: { providerDir: string; terraform: string },
  workDir: string,
  cloud: { apiUrl: string; token: string },
  vars: Record<string, string>,
): Terraform {
  const cliConfig = writeCliConfig(path.join(workDir, 'cli.tfrc'), setup.providerDir);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: '1',
    CHECKPOINT_DISABLE: '1',
    DIGITALOCEAN_API_URL: cloud.apiUrl,
    DIGITALOCEAN_TOKEN: cloud.token,
    ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [`TF_VAR_${k}`, v])),
  };
  return {
    run: (args) =>
      new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn(setup.terraform, [...args, '-no-color', '-input=false'], { cwd: workDir, env });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code: code ?? -1, output, ms: performance.now() - started }));
      }),
  };
}

/** `plan -detailed-exitcode`: 0 is no changes, 2 is changes; the resources it would change, by address. */
export function plannedChanges(output: string): string[] {
  return [...output.matchAll(/^\s*# (\S+) (?:will|must) be (.+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
}
