// What the local cloud offers: regions, sizes and distribution images, shaped as the API returns
// them, from the catalogue in src/specs (a subset of DigitalOcean's, enough for every stack).
import { DROPLET_SIZES, REGION_NAMES } from '../specs/digitalocean-catalog';

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
