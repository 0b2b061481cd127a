// Resource names have one home: provisioning, backups' snapshot targets and tests all name an
// environment's cloud resources `<environment>-<name>` through src/names/resource-names.ts.
import { firewallName, networkName, resourceName, serverName, volumeName } from '../../src/names/resource-names';

test('every resource of an environment is `<environment>-<name>`', () => {
  expect([
    networkName('stack-a'),
    firewallName('stack-a'),
    serverName('stack-a', 'web-2'),
    volumeName('stack-a', 'pgdata'),
    resourceName('stack-a', 'app'),
  ]).toEqual(['stack-a-vpc', 'stack-a-fw', 'stack-a-web-2', 'stack-a-pgdata', 'stack-a-app']);
});

test('two environments never share a resource name for the same spec name', () => {
  expect(serverName('stack-a', 'app')).not.toBe(serverName('stack-b', 'app'));
  expect(volumeName('stack-a', 'pgdata')).not.toBe(volumeName('stack-b', 'pgdata'));
});
