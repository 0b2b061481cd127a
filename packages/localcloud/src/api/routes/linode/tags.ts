// Tags: list, create (optionally tagging instances, volumes and NodeBalancers at once), delete
// (untagging everything), and the objects a tag is on. A tag exists while it was created or
// anything carries it. @linode/validation has no schema for a tag: its label is checked here
// against Linode's documented rule (3 to 50 characters).
import type { Tag } from '@linode/api-v4';
import type { FastifyInstance } from 'fastify';
import type { CloudContext } from '../../../context';
import { linodeBadRequest, linodeNotFound } from './errors';
import { linodePage } from './pagination';
import { requestBody } from './wire';

function tagged(ctx: CloudContext) {
  const s = ctx.store.state.linode;
  return [
    ...s.instances.map((i) => ({ type: 'linode' as const, data: i.linode })),
    ...s.volumes.map((v) => ({ type: 'volume' as const, data: v })),
    ...s.nodeBalancers.map((n) => ({ type: 'nodebalancer' as const, data: n.nodeBalancer })),
  ];
}

function allTags(ctx: CloudContext): string[] {
  return [...new Set([...ctx.store.state.linode.tags, ...tagged(ctx).flatMap((t) => t.data.tags)])].sort();
}

function idList(value: unknown, field: string): number[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => !Number.isInteger(v))) throw linodeBadRequest('Must be a list of ids', field);
  return value as number[];
}

function createTag(ctx: CloudContext, body: Record<string, unknown>): Tag {
  const label = body.label;
  if (typeof label !== 'string' || label.length < 3 || label.length > 50) throw linodeBadRequest('Length must be 3-50 characters', 'label');
  const targets = tagged(ctx);
  const wanted = (['linodes', 'volumes', 'nodebalancers'] as const).flatMap((field) =>
    idList(body[field], field).map((id) => {
      const type = field === 'linodes' ? 'linode' : field === 'volumes' ? 'volume' : 'nodebalancer';
      const target = targets.find((t) => t.type === type && t.data.id === id);
      if (!target) throw linodeBadRequest(`${type} ${id} not found`, field);
      return target;
    }),
  );
  for (const { data } of wanted) if (!data.tags.includes(label)) data.tags.push(label);
  if (!ctx.store.state.linode.tags.includes(label)) ctx.store.state.linode.tags.push(label);
  ctx.store.changed();
  return { label };
}

function labelParam(ctx: CloudContext, params: unknown): string {
  const label = (params as { label: string }).label;
  if (!allTags(ctx).includes(label)) throw linodeNotFound();
  return label;
}

export function registerLinodeTagRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/tags', async (request) =>
    linodePage<Tag>(
      request,
      allTags(ctx).map((label) => ({ label })),
    ),
  );

  app.post('/tags', async (request) => createTag(ctx, requestBody(request)));

  app.get('/tags/:label', async (request) => {
    const label = labelParam(ctx, request.params);
    return linodePage(
      request,
      tagged(ctx).filter((t) => t.data.tags.includes(label)),
    );
  });

  app.delete('/tags/:label', async (request) => {
    const label = labelParam(ctx, request.params);
    ctx.store.state.linode.tags = ctx.store.state.linode.tags.filter((t) => t !== label);
    for (const { data } of tagged(ctx)) data.tags = data.tags.filter((t) => t !== label);
    ctx.store.changed();
    return {};
  });
}
