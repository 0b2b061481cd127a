// What the Linode activities are built from: the account (a function, so the worker can pick the
// local cloud or a real account per call, as DigitalOcean's deps do), poll intervals, and the
// worker's SSH public keys (Linode takes keys themselves at creation, not key ids).
import { ApplicationFailure } from '@temporalio/activity';
import { linodeAccountFromEnv, missingLinodeAccountMessage, useLinodeAccount, type LinodeAccount } from '../../integrations/linode/account';

export interface LinodeDeps {
  /** The account: LINODE_TOKEN and LINODE_API_URL for the worker (linodeAccountFromEnv). */
  account: () => LinodeAccount;
  /** Poll intervals while waiting for instances: first wait, and the longest. */
  pollMs?: { first: number; max: number };
  /** The worker's named SSH public keys (OPSFLOW_SSH_KEYS), in OpenSSH form. */
  sshKeys?: () => { name: string; publicKey: string }[];
}

export const DEFAULT_LINODE_POLL = { first: 1000, max: 10_000 };

/** Points the official client at the deps' account before a step talks to it. */
export function connect(deps: LinodeDeps): void {
  useLinodeAccount(deps.account());
}

/**
 * The worker's account, read from LINODE_TOKEN and LINODE_API_URL at each step; without a token the
 * step fails at once (not retried) saying what to set.
 */
export function linodeAccountOfEnv(env: NodeJS.ProcessEnv): () => LinodeAccount {
  return () => {
    const account = linodeAccountFromEnv(env);
    if (!account)
      throw ApplicationFailure.create({ type: 'LinodeAuthentication', message: missingLinodeAccountMessage(env), nonRetryable: true });
    return account;
  };
}
