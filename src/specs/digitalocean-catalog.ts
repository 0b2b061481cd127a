// DigitalOcean regions, droplet sizes and distribution images that opsflow knows: what specs are
// checked against, and what the local cloud offers. Pure data, safe anywhere.

export const REGION_NAMES: Record<string, string> = {
  nyc1: 'New York 1',
  nyc3: 'New York 3',
  sfo3: 'San Francisco 3',
  ams3: 'Amsterdam 3',
  fra1: 'Frankfurt 1',
  lon1: 'London 1',
  sgp1: 'Singapore 1',
  tor1: 'Toronto 1',
  blr1: 'Bangalore 1',
  syd1: 'Sydney 1',
};

export interface SizeFacts {
  slug: string;
  memory: number;
  vcpus: number;
  disk: number;
  transfer: number;
  priceMonthly: number;
  description: string;
}

const size = (
  slug: string,
  memory: number,
  vcpus: number,
  disk: number,
  transfer: number,
  priceMonthly: number,
  description: string,
): SizeFacts => ({
  slug,
  memory,
  vcpus,
  disk,
  transfer,
  priceMonthly,
  description,
});

export const DROPLET_SIZES: SizeFacts[] = [
  size('s-1vcpu-512mb-10gb', 512, 1, 10, 0.5, 4, 'Basic'),
  size('s-1vcpu-1gb', 1024, 1, 25, 1, 6, 'Basic'),
  size('s-1vcpu-2gb', 2048, 1, 50, 2, 12, 'Basic'),
  size('s-2vcpu-2gb', 2048, 2, 60, 3, 18, 'Basic'),
  size('s-2vcpu-4gb', 4096, 2, 80, 4, 24, 'Basic'),
  size('s-4vcpu-8gb', 8192, 4, 160, 5, 48, 'Basic'),
  size('s-8vcpu-16gb', 16384, 8, 320, 6, 96, 'Basic'),
  size('g-2vcpu-8gb', 8192, 2, 25, 4, 63, 'General Purpose'),
  size('c-2', 4096, 2, 25, 4, 42, 'CPU-Optimized'),
];

export const DISTRIBUTION_IMAGE_SLUGS = ['ubuntu-22-04-x64', 'ubuntu-24-04-x64', 'debian-12-x64', 'docker-20-04'];

/** Slugs as tuples, for zod enums and the JSON Schema's `enum` (editors complete from them). */
export const REGION_SLUGS = Object.keys(REGION_NAMES) as [string, ...string[]];
export const DROPLET_SIZE_SLUGS = DROPLET_SIZES.map((s) => s.slug) as [string, ...string[]];

export const isRegion = (slug: string) => slug in REGION_NAMES;
export const isDropletSize = (slug: string) => DROPLET_SIZES.some((s) => s.slug === slug);
