// Tags: create, get, list, delete, and tagging or untagging resources. A tag's resource counts are
// computed from the resources that carry it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CloudContext } from '../../context';
import { notFound, unprocessable } from '../errors';
import { body, list, param, tagNames } from '../route-helpers';

function allTagNames(ctx: CloudContext): string[] {
  const s = ctx.store.state;
  const names = new Set([
    ...s.tags,
    ...s.droplets.flatMap((d) => d.tags),
    ...s.volumes.flatMap((v) => v.tags),
    ...s.snapshots.flatMap((v) => v.tags),
  ]);
  return [...names].sort();
}

function describeTag(ctx: CloudContext, name: string) {
  const s = ctx.store.state;
  const droplets = s.droplets.filter((d) => d.tags.includes(name));
  const volumes = s.volumes.filter((v) => v.tags.includes(name));
  const snapshots = s.snapshots.filter((v) => v.tags.includes(name) && v.resource_type === 'volume');
  const last = droplets.at(-1);
  return {
    name,
    resources: {
      count: droplets.length + volumes.length + snapshots.length,
      ...(last ? { last_tagged_uri: `https://api.digitalocean.com/v2/droplets/${last.id}` } : {}),
      droplets: { count: droplets.length, ...(last ? { last_tagged_uri: `https://api.digitalocean.com/v2/droplets/${last.id}` } : {}) },
      // "images", as the API sends it, the spec's own example shows, and clients read (godo, so the
      // Terraform provider, crashes on a tag without it); the spec's schema misspells it "imgages".
      images: { count: 0 },
      volumes: { count: volumes.length },
      volume_snapshots: { count: snapshots.length },
      databases: { count: 0 },
    },
  };
}

function tagFromRequest(ctx: CloudContext, request: FastifyRequest): string {
  const name = param(request, 'tag_id');
  if (!allTagNames(ctx).includes(name)) throw notFound('tag');
  return name;
}

function retag(ctx: CloudContext, name: string, input: Record<string, unknown>, adding: boolean): void {
  const resources = input.resources;
  if (!Array.isArray(resources) || resources.length === 0) throw unprocessable('resources must list {resource_id, resource_type}');
  const s = ctx.store.state;
  for (const [i, ref] of (resources as { resource_id?: unknown; resource_type?: unknown }[]).entries()) {
    const id = String(ref.resource_id);
    const holder =
      ref.resource_type === 'droplet'
        ? s.droplets.find((d) => String(d.id) === id)
        : ref.resource_type === 'volume'
          ? s.volumes.find((v) => v.id === id)
          : ref.resource_type === 'volume_snapshot'
            ? s.snapshots.find((v) => v.id === id)
            : undefined;
    if (!holder) throw unprocessable(`resources[${i}]: no ${String(ref.resource_type)} with id ${id}`);
    holder.tags = adding ? [...new Set([...holder.tags, name])] : holder.tags.filter((t) => t !== name);
  }
  ctx.store.changed();
  ctx.hosts.firewallsChanged?.(); // a firewall may follow the tag
}

export function registerTagRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/v2/tags', async (request) =>
    list(
      request,
      'tags',
      allTagNames(ctx).map((name) => describeTag(ctx, name)),
    ),
  );

  app.post('/v2/tags', async (request, reply) => {
    const [name] = tagNames([body(request).name]);
    if (!ctx.store.state.tags.includes(name as string)) ctx.store.state.tags.push(name as string);
    ctx.store.changed();
    return reply.code(201).send({ tag: describeTag(ctx, name as string) });
  });

  app.get('/v2/tags/:tag_id', async (request) => ({ tag: describeTag(ctx, tagFromRequest(ctx, request)) }));

  app.delete('/v2/tags/:tag_id', async (request, reply) => {
    const name = tagFromRequest(ctx, request);
    const s = ctx.store.state;
    s.tags = s.tags.filter((t) => t !== name);
    for (const holder of [...s.droplets, ...s.volumes, ...s.snapshots]) holder.tags = holder.tags.filter((t) => t !== name);
    ctx.store.changed();
    ctx.hosts.firewallsChanged?.();
    return reply.code(204).send();
  });

  app.post('/v2/tags/:tag_id/resources', async (request, reply) => {
    const name = param(request, 'tag_id');
    tagNames([name]);
    retag(ctx, name, body(request), true);
    return reply.code(204).send();
  });

  app.delete('/v2/tags/:tag_id/resources', async (request, reply) => {
    retag(ctx, tagFromRequest(ctx, request), body(request), false);
    return reply.code(204).send();
  });
}
