// The account, and the catalogue: regions, sizes, images.
import type { FastifyInstance } from 'fastify';
import { DISTRIBUTION_IMAGES, REGIONS, SIZES } from '../../catalog';
import type { CloudContext } from '../../context';
import { notFound } from '../errors';
import { list, param, query } from '../route-helpers';

export const ACCOUNT_UUID = 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef';

export function registerAccountRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/v2/account', async () => ({
    account: {
      droplet_limit: ctx.dropletLimit,
      floating_ip_limit: 10,
      volume_limit: 100,
      email: 'ops@opsflow.local',
      name: 'opsflow local cloud',
      uuid: ACCOUNT_UUID,
      email_verified: true,
      status: 'active',
      status_message: '',
      team: { uuid: '5df3e3004a17e242b7c20ca6c9fc25b701a47ece', name: 'opsflow' },
    },
  }));

  app.get('/v2/regions', async (request) => list(request, 'regions', REGIONS));
  app.get('/v2/sizes', async (request) => list(request, 'sizes', SIZES));

  app.get('/v2/images', async (request) => {
    const { type, private: own } = query(request);
    let images = DISTRIBUTION_IMAGES;
    if (type === 'application') images = images.filter((i) => i.slug === 'docker-20-04');
    else if (type === 'distribution') images = images.filter((i) => i.slug !== 'docker-20-04');
    if (own === 'true') images = [];
    return list(request, 'images', images);
  });

  app.get('/v2/images/:image_id', async (request) => {
    const id = param(request, 'image_id');
    const image = DISTRIBUTION_IMAGES.find((i) => String(i.id) === id || i.slug === id);
    if (!image) throw notFound('image');
    return { image };
  });
}
