// The Terraform tier: DigitalOcean's own Terraform provider applies every resource the local cloud
// serves (configs/every-resource/main.tf), a second plan must find nothing to change, an update of
// five of them (droplet size, volume size, firewall port, load balancer ports, record TTL) must
// apply and plan clean too, and destroy must leave nothing behind. It needs the provider binary
// (OPSFLOW_TF_PROVIDER_DIR, or the cached build in ~/.cache/opsflow; README "Terraform against the
// local cloud") and terraform; without them it is skipped, and says why.
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalCloud, LoggedRequest } from '@opsflow/localcloud';
import { startLocalCloud } from '../helpers/localcloud';
import { generateEd25519 } from '../helpers/ssh-keys';
import { tempDir } from '../helpers/temp';
import { findTerraformSetup, plannedChanges, terraformIn } from '../helpers/terraform';

type Inventory = Record<string, unknown[]>;

const setup = findTerraformSetup();
if (!setup.ok) console.warn(`Terraform tier skipped: ${setup.reason}`);
const tier = setup.ok ? describe : describe.skip;

async function inventory(cloud: LocalCloud): Promise<Inventory> {
  return (await fetch(`${cloud.apiUrl}/_localcloud/inventory`, { headers: cloud.controlHeaders })).json() as Promise<Inventory>;
}

/** Refusals: anything but the 404s a provider reads while it waits for a deletion to finish. */
const refusals = (requests: LoggedRequest[]) =>
  requests.filter((r) => r.status >= 400 && !(r.status === 404 && r.method === 'GET')).map((r) => `${r.status} ${r.method} ${r.url}`);

tier(`Terraform with DigitalOcean's provider against the local cloud${setup.ok ? '' : ` (skipped: ${setup.reason})`}`, () => {
  test('every resource: apply, a second plan with no changes, an update, destroy leaving nothing', async () => {
    if (!setup.ok) return;
    // DigitalOcean's rate limit (the default budget): the provider must live with it as it does there.
    const { cloud } = await startLocalCloud({ sshHosts: false });
    try {
      const work = tempDir('terraform');
      copyFileSync(path.join(__dirname, 'configs', 'every-resource', 'main.tf'), path.join(work, 'main.tf'));
      const vars = { name: 'tfall', public_key: generateEd25519().public };
      const terraform = terraformIn(setup, work, cloud, vars);

      const apply = await terraform.run(['apply', '-auto-approve']);
      expect({ code: apply.code, output: apply.code === 0 ? '' : apply.output }).toEqual({ code: 0, output: '' });
      const applied = await inventory(cloud);
      expect(applied).toMatchObject({
        droplets: expect.arrayContaining([
          expect.objectContaining({ name: 'tfall-app', status: 'active', tags: ['tfall-env'] }),
          expect.objectContaining({ name: 'tfall-bare', status: 'active', tags: [] }),
        ]),
        // Terraform creates independent resources at once: their order in the cloud is not fixed.
        volumes: expect.arrayContaining([
          expect.objectContaining({ name: 'tfall-data', droplet_ids: [expect.any(Number)] }),
          expect.objectContaining({ name: 'tfall-raw', droplet_ids: [], tags: ['tfall-env'] }),
        ]),
        firewalls: expect.arrayContaining([
          expect.objectContaining({ name: 'tfall-app', droplet_ids: [expect.any(Number)] }),
          expect.objectContaining({ name: 'tfall-by-tag', droplet_ids: [], tags: ['tfall-env'] }),
        ]),
        vpcs: [{ name: 'tfall-net', ip_range: '10.40.0.0/16' }],
        reserved_ips: [{ droplet_id: expect.any(Number) }],
        ssh_keys: [{ name: 'tfall-deploy' }],
        load_balancers: [{ name: 'tfall-web', droplet_ids: [expect.any(Number)] }],
        domains: ['tfall.example.com'],
        tags: ['tfall-env'],
        pending_actions: 0,
      });
      expect(applied.snapshots).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'tfall-app-snap', resource_type: 'droplet' }),
          expect.objectContaining({ name: 'tfall-data-snap', resource_type: 'volume' }),
        ]),
      );
      expect(applied.droplets).toHaveLength(2);
      expect(applied.volumes).toHaveLength(2);
      expect(applied.firewalls).toHaveLength(2);
      expect(applied.snapshots).toHaveLength(2);

      // Exit code 0: no changes. 2 would list what the provider read back differently than it wrote.
      const plan = await terraform.run(['plan', '-detailed-exitcode']);
      expect({ code: plan.code, changes: plannedChanges(plan.output), output: plan.code === 0 ? '' : plan.output }).toEqual({
        code: 0,
        changes: [],
        output: '',
      });

      const changed = terraformIn(setup, work, cloud, {
        ...vars,
        volume_size: '30',
        https_port: '8443',
        app_port: '8081',
        record_ttl: '600',
        bare_size: 's-1vcpu-2gb',
      });
      const update = await changed.run(['apply', '-auto-approve']);
      expect({ code: update.code, output: update.code === 0 ? '' : update.output }).toEqual({ code: 0, output: '' });
      expect(plannedChanges(update.output).sort()).toEqual([
        'digitalocean_droplet.bare updated in-place',
        'digitalocean_firewall.by_tag updated in-place',
        'digitalocean_loadbalancer.web updated in-place',
        'digitalocean_record.www updated in-place',
        'digitalocean_volume.data updated in-place',
      ]);
      const replan = await changed.run(['plan', '-detailed-exitcode']);
      expect({ code: replan.code, changes: plannedChanges(replan.output), output: replan.code === 0 ? '' : replan.output }).toEqual({
        code: 0,
        changes: [],
        output: '',
      });

      const destroy = await changed.run(['destroy', '-auto-approve']);
      expect({ code: destroy.code, output: destroy.code === 0 ? '' : destroy.output }).toEqual({ code: 0, output: '' });
      expect(await inventory(cloud)).toEqual({
        droplets: [],
        volumes: [],
        snapshots: [],
        firewalls: [],
        vpcs: [],
        reserved_ips: [],
        ssh_keys: [],
        load_balancers: [],
        domains: [],
        tags: [],
        pending_actions: 0,
        // The cloud's inventory also lists its Linode side, which Terraform's DigitalOcean provider never touches.
        linode: { extra_ips: [], firewalls: [], instances: [], nodebalancers: [], volumes: [], vpcs: [] },
      });
      const { requests } = cloud.requestLog.list();
      expect(refusals(requests)).toEqual([]);
      console.log(
        `Terraform tier: ${requests.length} requests; apply ${(apply.ms / 1000).toFixed(1)} s, plan ${(plan.ms / 1000).toFixed(1)} s, destroy ${(destroy.ms / 1000).toFixed(1)} s`,
      );
    } finally {
      await cloud.stop();
    }
  }, 900_000);
});
