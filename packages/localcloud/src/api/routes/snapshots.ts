// Snapshots of droplets and volumes: list (by resource type), get, delete.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CloudContext } from '../../context';
import type { Snapshot } from '../../state';
import { notFound } from '../errors';
import { list, param, query } from '../route-helpers';

function findSnapshot(ctx: CloudContext, request: FastifyRequest): Snapshot {
  const id = param(request, 'snapshot_id');
  const snapshot = ctx.store.state.snapshots.find((s) => s.id === id);
  if (!snapshot) throw notFound('snapshot');
  return snapshot;
}

function deleteSnapshot(ctx: CloudContext, snapshot: Snapshot): void {
  ctx.store.state.snapshots = ctx.store.state.snapshots.filter((s) => s.id !== snapshot.id);
  for (const droplet of ctx.store.state.droplets) droplet.snapshot_ids = droplet.snapshot_ids.filter((id) => String(id) !== snapshot.id);
  ctx.store.changed();
}

export function registerSnapshotRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/v2/snapshots', async (request) => {
    const type = query(request).resource_type;
    const snapshots = ctx.store.state.snapshots.filter((s) => !type || s.resource_type === type);
    return list(request, 'snapshots', snapshots);
  });
  for (const prefix of ['/v2/snapshots', '/v2/volumes/snapshots']) {
    app.get(`${prefix}/:snapshot_id`, async (request) => ({ snapshot: findSnapshot(ctx, request) }));
    app.delete(`${prefix}/:snapshot_id`, async (request, reply) => {
      deleteSnapshot(ctx, findSnapshot(ctx, request));
      return reply.code(204).send();
    });
  }
}
