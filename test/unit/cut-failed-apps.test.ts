// The fence's firewall rules: the failed site's app servers taken out of the survivor's database
// rules, every other source and every other rule kept as it was.
import { withoutSources, withSources } from '../../src/workflows/failover/cut-failed-apps';

const stackSources = ['127.9.0.2/32', '127.9.0.3/32', '127.9.0.7/32', '203.0.113.7/32'];
const rules = [
  { protocol: 'tcp', ports: '22', sources: ['0.0.0.0/0', '::/0'] },
  { protocol: 'tcp', ports: '3306', sources: stackSources },
  { protocol: 'tcp', ports: '6000-6999', sources: stackSources },
  { protocol: 'tcp', ports: '3000', sources: ['127.9.0.2/32'] },
];

test('the removed addresses leave the rules on the database ports only', () => {
  expect(withoutSources(rules, [3306, 6379], ['127.9.0.2/32', '127.9.0.3/32'])).toEqual([
    rules[0],
    { protocol: 'tcp', ports: '3306', sources: ['127.9.0.7/32', '203.0.113.7/32'] },
    { protocol: 'tcp', ports: '6000-6999', sources: ['127.9.0.7/32', '203.0.113.7/32'] },
    rules[3],
  ]);
});

test('a database rule left with no source goes (a firewall rule needs one), the others stay', () => {
  const only = [rules[0]!, { protocol: 'tcp', ports: '3306', sources: ['127.9.0.2/32'] }];
  expect(withoutSources(only, [3306], ['127.9.0.2/32'])).toEqual([rules[0]]);
});

test("a failover's scale servers join the database rules only", () => {
  expect(withSources(rules, [3306], ['127.9.0.9/32', '127.9.0.2/32'])).toEqual([
    rules[0],
    { protocol: 'tcp', ports: '3306', sources: [...stackSources, '127.9.0.9/32'] },
    rules[2],
    rules[3],
  ]);
});
