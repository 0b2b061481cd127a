// What the pod runner makes of rabbitmq, mariadb and mysql images' settings before anything runs:
// the image judged as the real server, the values quoted so nothing a Secret holds can change the
// SQL or the Erlang term it lands in, and no password in clear in either. (pod-runner.test runs them.)
import { judgeImage } from '../../src/kubernetes/pod-runner/pod-images';
import { mariadbInitSql, mariadbLaunch, nativePasswordHash } from '../../src/kubernetes/pod-runner/pod-mariadb';
import { rabbitmqAdvancedConfig, rabbitmqNodeName } from '../../src/kubernetes/pod-runner/pod-rabbitmq';

test('rabbitmq, its -management tags, mariadb and mysql images run the real servers', () => {
  const program = (image: string) => {
    const verdict = judgeImage(image);
    return verdict.runnable ? verdict.program : verdict.reason;
  };
  expect(['rabbitmq:3.13', 'rabbitmq:3-management', 'docker.io/library/rabbitmq:4.1-management-alpine'].map(program)).toEqual([
    'rabbitmq',
    'rabbitmq',
    'rabbitmq',
  ]);
  expect(['mariadb:11', 'mysql:8.0', 'postgres:16', 'registry.example/shop-web:1.0'].map(program)).toEqual([
    'mariadb',
    'mariadb',
    'postgres',
    'app',
  ]);
});

test("mysql_native_password hashes are MariaDB's PASSWORD()", () => {
  expect(nativePasswordHash('password')).toBe('*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19');
  expect(nativePasswordHash('')).toBe('');
});

test('the first start SQL quotes every name and holds hashes, never a password', () => {
  const sql = mariadbInitSql({
    rootPassword: "r00t'pw",
    database: 'shop`; DROP DATABASE mysql; --',
    user: "o'brien",
    password: 'app pw\\',
  });
  expect(sql).not.toContain("r00t'pw");
  expect(sql).not.toContain('app pw');
  expect(sql).toContain(`'${nativePasswordHash("r00t'pw")}'`);
  expect(sql).toContain('CREATE DATABASE IF NOT EXISTS `shop``; DROP DATABASE mysql; --`;');
  expect(sql).toContain("CREATE USER 'o\\'brien'@'%'");
  expect(sql.split('\n')).toHaveLength(6);
});

test('mariadb containers: no root password leaves the first start to fail; only server options are taken as arguments', () => {
  const container = { name: 'db', image: 'mariadb:11' };
  expect(mariadbLaunch(container, '198.18.1.5', {}).env.OPSFLOW_MARIADB_INIT_SQL).toBe('');
  const launched = mariadbLaunch({ ...container, args: ['--character-set-server=utf8mb4'] }, '198.18.1.5', { MYSQL_ROOT_PASSWORD: 'pw' });
  expect(launched.command.slice(-1)).toEqual(['--character-set-server=utf8mb4']);
  expect(launched.env).toMatchObject({ POD_ADDRESS: '198.18.1.5', POD_PORT: '3306' });
  expect(launched.env.OPSFLOW_MARIADB_INIT_SQL).toContain(nativePasswordHash('pw'));
  expect(() => mariadbLaunch({ ...container, args: ['sh'] }, '198.18.1.5', {})).toThrow(/argument "sh": .*server options/);
});

test("RabbitMQ's defaults become Erlang bytes: nothing a value holds can end the term", () => {
  const config = rabbitmqAdvancedConfig({ RABBITMQ_DEFAULT_USER: 'shop', RABBITMQ_DEFAULT_PASS: 'p"}]}.ü' });
  expect(config).toBe(
    '[{rabbit, [{default_user, <<115,104,111,112>>}, {default_pass, <<112,34,125,93,125,46,195,188>>}, {default_vhost, <<47>>}, {loopback_users, []}]}].',
  );
  // The official image's defaults when none is given.
  expect(rabbitmqAdvancedConfig({})).toContain('{default_user, <<103,117,101,115,116>>}');
  expect(rabbitmqNodeName({ uid: '0b6f3c2e-9d41-4a55-8f0e-3c1d2b7a9e10' })).toBe('rabbit-0b6f3c2e9d41@localhost');
});
