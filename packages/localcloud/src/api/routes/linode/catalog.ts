// What the Linode account offers: a handful of Linode's real regions, plan types and public
// images (ids, sizes and prices as Linode lists them), typed by @linode/api-v4.
import type { Capabilities, Country, Image, LinodeType, LinodeTypeClass, Region } from '@linode/api-v4';

const CAPABILITIES: Capabilities[] = ['Linodes', 'Block Storage', 'Cloud Firewall', 'NodeBalancers', 'Vlans', 'VPCs', 'Backups'];

const region = (id: string, label: string, country: Country): Region => ({
  id,
  label,
  country,
  capabilities: CAPABILITIES,
  placement_group_limits: { maximum_linodes_per_pg: 5, maximum_pgs_per_customer: null },
  resolvers: { ipv4: '139.162.130.5, 139.162.131.5', ipv6: '2a01:7e00::9, 2a01:7e00::3' },
  site_type: 'core',
  status: 'ok',
});

export const LINODE_REGIONS: Region[] = [
  region('gb-lon', 'London 2, UK', 'gb'),
  region('eu-west', 'London, UK', 'gb'),
  region('de-fra-2', 'Frankfurt 2, DE', 'de'),
  region('eu-central', 'Frankfurt, DE', 'de'),
  region('us-east', 'Newark, NJ', 'us'),
];

const type = (
  id: string,
  label: string,
  cls: LinodeTypeClass,
  vcpus: number,
  memory: number,
  disk: number,
  monthly: number,
): LinodeType => ({
  id,
  label,
  class: cls,
  vcpus,
  memory,
  disk,
  accelerated_devices: 0,
  gpus: 0,
  network_out: 1000 * Math.min(vcpus, 4),
  transfer: memory,
  price: { hourly: Math.round((monthly / 730) * 1000) / 1000, monthly },
  region_prices: [],
  addons: { backups: { price: { hourly: 0.003, monthly: monthly / 5 }, region_prices: [] } },
  successor: null,
});

export const LINODE_TYPES: LinodeType[] = [
  type('g6-nanode-1', 'Nanode 1GB', 'nanode', 1, 1024, 25600, 5),
  type('g6-standard-1', 'Linode 2GB', 'standard', 1, 2048, 51200, 12),
  type('g6-standard-2', 'Linode 4GB', 'standard', 2, 4096, 81920, 24),
  type('g6-standard-4', 'Linode 8GB', 'standard', 4, 8192, 163840, 48),
  type('g6-dedicated-2', 'Dedicated 4GB', 'dedicated', 2, 4096, 81920, 36),
];

const image = (id: string, label: string, vendor: string, size: number): Image => ({
  id,
  label,
  vendor,
  size,
  total_size: size,
  capabilities: ['cloud-init'],
  created: '2023-06-12T00:00:00',
  updated: '2023-06-12T00:00:00',
  created_by: 'linode',
  deprecated: false,
  description: '',
  eol: null,
  expiry: null,
  is_public: true,
  regions: LINODE_REGIONS.map((r) => ({ region: r.id, status: 'available' })),
  status: 'available',
  tags: [],
  type: 'manual',
});

export const LINODE_IMAGES: Image[] = [
  image('linode/debian12', 'Debian 12', 'Debian', 1300),
  image('linode/ubuntu24.04', 'Ubuntu 24.04 LTS', 'Ubuntu', 2500),
  image('linode/ubuntu22.04', 'Ubuntu 22.04 LTS', 'Ubuntu', 2500),
];
