// SSH keys on the account: the public keys droplets are created with.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { utils } from 'ssh2';
import type { CloudContext } from '../../context';
import type { SshKey } from '../../state';
import { notFound, unprocessable } from '../errors';
import { body, list, param, requireString } from '../route-helpers';

/** The MD5 fingerprint DigitalOcean reports: colon-separated hex of the key blob. */
export function md5Fingerprint(publicKey: string): string {
  const parsed = utils.parseKey(publicKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || key.isPrivateKey())
    throw unprocessable('public_key is not a valid SSH public key (expected a line like "ssh-ed25519 AAAA... comment")');
  return createHash('md5').update(key.getPublicSSH()).digest('hex').match(/../g)!.join(':');
}

function findKey(ctx: CloudContext, request: FastifyRequest): SshKey {
  const ref = param(request, 'ssh_key_identifier');
  const key = ctx.store.state.sshKeys.find((k) => String(k.id) === ref || k.fingerprint === ref);
  if (!key) throw notFound('ssh key');
  return key;
}

export function registerSshKeyRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/v2/account/keys', async (request) => list(request, 'ssh_keys', ctx.store.state.sshKeys));

  app.post('/v2/account/keys', async (request, reply) => {
    const input = body(request);
    const name = requireString(input.name, 'name');
    const publicKey = requireString(input.public_key, 'public_key').trim();
    const fingerprint = md5Fingerprint(publicKey);
    if (ctx.store.state.sshKeys.some((k) => k.fingerprint === fingerprint))
      throw unprocessable('SSH Key is already in use on your account');
    const key: SshKey = { id: ctx.store.nextId(), fingerprint, public_key: publicKey, name };
    ctx.store.state.sshKeys.push(key);
    ctx.store.changed();
    return reply.code(201).send({ ssh_key: key });
  });

  app.get('/v2/account/keys/:ssh_key_identifier', async (request) => ({ ssh_key: findKey(ctx, request) }));

  app.put('/v2/account/keys/:ssh_key_identifier', async (request) => {
    const key = findKey(ctx, request);
    key.name = requireString(body(request).name, 'name');
    ctx.store.changed();
    return { ssh_key: key };
  });

  app.delete('/v2/account/keys/:ssh_key_identifier', async (request, reply) => {
    const key = findKey(ctx, request);
    ctx.store.state.sshKeys = ctx.store.state.sshKeys.filter((k) => k.id !== key.id);
    ctx.store.changed();
    return reply.code(204).send();
  });
}
