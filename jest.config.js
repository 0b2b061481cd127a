/** Dependencies that are ES modules only (see transform below). */
const ESM_ONLY_PACKAGES = '(@kubernetes/client-node|openid-client|jose|oauth4webapi)';

/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/packages/localcloud/test'],
  // Tests read the local cloud package from its source (as tsconfig.json's paths do), not its dist/.
  moduleNameMapper: { '^@opsflow/localcloud$': '<rootDir>/packages/localcloud/src/index.ts' },
  testMatch: ['**/*.test.ts'],
  // Every test file runs: none is held out (the three rollout files of 2026-12-02 now pass).
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  // Workflow tests talk to a real Temporal server: jest's 5 s default is far too short.
  testTimeout: 120_000,
  // Two test files at a time (two cores). Each file may run its own local cloud: clouds on one
  // machine share nothing keyed to it. Each holds its own host network (127.N.x.y) while it runs,
  // and with it its own block of droplet uids and its own nftables table; the test helpers take a
  // free network (packages/localcloud/test/hosts/two-clouds.test.ts holds two clouds at once).
  maxWorkers: 2,
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // @kubernetes/client-node 1.x and its OIDC dependencies ship only ES modules. Node >= 20.19
    // require()s them natively (the worker does); jest's own require cannot before Node 24.9, so
    // jest compiles them to CommonJS (once: its cache keeps the result).
    [`/node_modules/${ESM_ONLY_PACKAGES}/.+\\.js$`]: [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022' }, diagnostics: false },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!${ESM_ONLY_PACKAGES}/)`],
};
