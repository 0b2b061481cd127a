// The product checks specs against its own catalogue (src/specs/digitalocean-catalog.ts); the local
// cloud, its own package, has its own offer (packages/localcloud/src/catalog.ts), as DigitalOcean
// does. Nothing a spec may name is missing from the local cloud, or differs in what it means.
import { DISTRIBUTION_IMAGE_SLUGS, DROPLET_SIZES, REGION_NAMES } from '../../src/specs/digitalocean-catalog';
import { DISTRIBUTION_IMAGES, REGIONS, SIZES } from '../../packages/localcloud/src/catalog';

test('every region a spec may name is offered by the local cloud, under the same name', () => {
  const offered = new Map(REGIONS.map((r) => [r.slug, r.name]));
  const missing = Object.entries(REGION_NAMES).filter(([slug, name]) => offered.get(slug) !== name);
  expect(missing).toEqual([]);
});

test('every droplet size a spec may name is offered, with the same memory, vCPUs and disk', () => {
  const offered = new Map(SIZES.map((s) => [s.slug, { memory: s.memory, vcpus: s.vcpus, disk: s.disk }]));
  const differing = DROPLET_SIZES.filter(
    (s) => JSON.stringify(offered.get(s.slug)) !== JSON.stringify({ memory: s.memory, vcpus: s.vcpus, disk: s.disk }),
  ).map((s) => s.slug);
  expect(differing).toEqual([]);
});

test('every distribution image a spec may name is offered', () => {
  const offered = new Set(DISTRIBUTION_IMAGES.map((i) => i.slug));
  expect(DISTRIBUTION_IMAGE_SLUGS.filter((slug) => !offered.has(slug))).toEqual([]);
});
