// apt-get in a droplet takes the names an Ubuntu spec uses (issue 13): a metapackage, another
// release's versioned name, Ubuntu's name for what Debian calls otherwise and a virtual name get
// the machine's package (with apt's "Note, selecting"), a Debian package the machine lacks is
// installed on the machine first, and only a name nobody has is refused (status 100).
import { execFileSync } from 'node:child_process';
import type { LocalCloud } from '../../src';
import type { ContractClient } from '../../../../test/helpers/do-api';
import { connect, createHostDroplet, exec, registerKey, type TestDroplet } from '../../../../test/helpers/droplet-host';
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { generateEd25519 } from '../../../../test/helpers/ssh-keys';

jest.setTimeout(10 * 60_000);

const key = generateEd25519();
let cloud: LocalCloud;
let api: ContractClient;
let droplet: TestDroplet;
/** Whether the machine had Debian's `hello` before: if not, the test installs it there and removes it after. */
const machineHadHello = (() => {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', 'hello'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).startsWith('ii');
  } catch {
    return false;
  }
})();

beforeAll(async () => {
  ({ cloud, api } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  droplet = await createHostDroplet(cloud, api, 'apt-1', [await registerKey(api, 'deploy', key.public)]);
});
afterAll(async () => {
  await cloud?.stop();
  if (!machineHadHello)
    execFileSync('apt-get', ['remove', '-y', '-q', '-o', 'DPkg::Lock::Timeout=600', 'hello'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: 'ignore',
    });
});

async function sh(command: string) {
  const { client } = await connect(droplet, key.private);
  try {
    return await exec(client, command);
  } finally {
    client.end();
  }
}

test('Ubuntu names resolve to what the machine has, each said as apt says it', async () => {
  const install = await sh(
    'apt-get install -y postgresql-client postgresql-16 postgresql-client-14 mysql-server default-mysql-client redis-server docker-compose-v2',
  );
  expect(install).toMatchObject({ code: 0, stderr: '' });
  expect(install.stdout).toContain("Note, selecting 'postgresql-client-15' instead of 'postgresql-client'");
  expect(install.stdout).toContain("Note, selecting 'postgresql-15' instead of 'postgresql-16'");
  expect(install.stdout).toContain("Note, selecting 'postgresql-client-15' instead of 'postgresql-client-14'");
  expect(install.stdout).toContain("Note, selecting 'mariadb-server' instead of 'mysql-server'");
  expect(install.stdout).toContain("Note, selecting 'mariadb-client' instead of 'default-mysql-client'");
  expect(install.stdout).not.toContain("instead of 'redis-server'"); // the machine has it by that name
  // What was asked for is what the droplet lists as installed, and the tools run.
  const listed = (await sh('apt list --installed')).stdout;
  for (const name of ['postgresql-client', 'postgresql-16', 'mysql-server', 'redis-server', 'docker-compose-v2'])
    expect(listed).toContain(`${name}/stable,now amd64 [installed]`);
  expect((await sh('psql --version && mysql --version && redis-cli --version')).code).toBe(0);
});

test('a virtual name an installed package provides is that package', async () => {
  // mariadb-client provides virtual-mysql-client (dpkg's Provides); no table names it.
  const install = await sh('apt-get install -y virtual-mysql-client');
  expect(install).toMatchObject({ code: 0 });
  expect(install.stdout).toMatch(/Note, selecting 'mariadb-client[^']*' instead of 'virtual-mysql-client'/);
});

test('a Debian package the machine lacks is installed on the machine; a name nobody has is refused', async () => {
  const hello = await sh('apt-get install -y hello && hello --greeting=droplet');
  expect(hello).toMatchObject({ code: 0, stderr: '' });
  expect(hello.stdout).toMatch(/droplet\n$/);
  if (!machineHadHello) expect(hello.stdout).toContain('localcloud: installing hello from Debian on this machine');
  expect(await sh('apt-get install -y no-such-package-here')).toMatchObject({
    code: 100,
    stderr:
      "E: Unable to locate package no-such-package-here\nN: neither this machine nor Debian's package lists have no-such-package-here\n",
  });
});
