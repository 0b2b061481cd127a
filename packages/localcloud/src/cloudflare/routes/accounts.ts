// The account: one, made with the cloud's state; listing it is how a client learns its id.
import type { FastifyInstance } from 'fastify';
import type { Account } from 'cloudflare/resources/accounts/accounts';
import type { Store } from '../../store';
import { success } from '../envelope';
import { cloudflarePage } from '../pagination';
import { cloudflareState } from '../state';
import { queryOf, requireAccount } from './lookup';

function describe(store: Store): Account {
  const { account } = cloudflareState(store);
  return { id: account.id, name: account.name, type: 'standard', created_on: account.created_on, settings: { enforce_twofactor: false } };
}

export function registerAccountRoutes(app: FastifyInstance, store: Store): void {
  app.get('/accounts', async (request) => {
    const page = cloudflarePage([describe(store)], queryOf(request), { defaultPerPage: 20, maxPerPage: 50 });
    return success(page.items, page.info);
  });

  app.get('/accounts/:account_id', async (request) => {
    requireAccount(cloudflareState(store), request);
    return success(describe(store));
  });
}
