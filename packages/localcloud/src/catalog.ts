// What the local cloud offers: regions, sizes and distribution images, shaped as the API returns
// them (a subset of DigitalOcean's, enough for every stack). Its own copy, not the product's spec
// catalogue: the cloud says what exists, the product checks specs against what it believes exists;
// a root test (test/unit/catalog-offer.test.ts) proves the product asks for nothing this cloud lacks.

const REGION_NAMES: Record<string, string> = {
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

interface SizeFacts {
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

const DROPLET_SIZES: SizeFacts[] = [
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

export interface Size {
  slug: string;
  memory: number;
  vcpus: number;
  disk: number;
  transfer: number;
  price_monthly: number;
  price_hourly: number;
  regions: string[];
  available: boolean;
  description: string;
}

export interface Region {
  slug: string;
  name: string;
  sizes: string[];
  available: boolean;
  features: string[];
}

export interface Image {
  id: number;
  name: string;
  distribution: string;
  slug: string | null;
  public: boolean;
  regions: string[];
  created_at: string;
  min_disk_size: number;
  size_gigabytes: number;
  type: 'base' | 'snapshot' | 'backup' | 'custom' | 'admin';
  description: string;
  tags: string[];
  status: 'NEW' | 'available' | 'pending' | 'deleted' | 'retired';
  error_message: string;
}

const REGION_SLUGS = Object.keys(REGION_NAMES);

export const SIZES: Size[] = DROPLET_SIZES.map((f) => ({
  slug: f.slug,
  memory: f.memory,
  vcpus: f.vcpus,
  disk: f.disk,
  transfer: f.transfer,
  price_monthly: f.priceMonthly,
  price_hourly: Math.round((f.priceMonthly / 672) * 100000) / 100000,
  regions: REGION_SLUGS,
  available: true,
  description: f.description,
}));

export const REGIONS: Region[] = REGION_SLUGS.map((slug) => ({
  slug,
  name: REGION_NAMES[slug] as string,
  sizes: SIZES.map((s) => s.slug),
  available: true,
  features: ['backups', 'ipv6', 'metadata', 'install_agent', 'storage', 'image_transfer'],
}));

function image(id: number, slug: string, distribution: string, name: string): Image {
  return {
    id,
    name,
    distribution,
    slug,
    public: true,
    regions: REGION_SLUGS,
    created_at: '2024-01-01T00:00:00Z',
    min_disk_size: 7,
    size_gigabytes: 2.36,
    type: 'base',
    description: `${distribution} ${name} x64`,
    tags: [],
    status: 'available',
    error_message: '',
  };
}

export const DISTRIBUTION_IMAGES: Image[] = [
  image(129211873, 'ubuntu-22-04-x64', 'Ubuntu', '22.04 (LTS) x64'),
  image(160232537, 'ubuntu-24-04-x64', 'Ubuntu', '24.04 (LTS) x64'),
  image(144021386, 'debian-12-x64', 'Debian', '12 x64'),
  image(132486023, 'docker-20-04', 'Ubuntu', 'Docker on Ubuntu 22.04'),
];

export const findSize = (slug: string) => SIZES.find((s) => s.slug === slug);
export const findRegion = (slug: string) => REGIONS.find((r) => r.slug === slug);
