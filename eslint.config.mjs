// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'packages/*/dist/', 'node_modules/', '.opsflow/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The local cloud is its own package (packages/localcloud). The product reaches it only from the
    // two commands that start it, lazily, so the worker never loads it (test/unit/product-imports.test.ts).
    files: ['src/**/*.ts'],
    ignores: ['src/devstack/up.ts', 'src/client/cli.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@opsflow/localcloud', '@opsflow/localcloud/*', '**/packages/localcloud', '**/packages/localcloud/**'],
              message:
                'Only `opsflow up` (src/devstack/up.ts) and `opsflow localcloud` (src/client/cli.ts) load the local cloud package; the rest of the product reaches a cloud through DIGITALOCEAN_API_URL and DIGITALOCEAN_TOKEN.',
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression[source.value=/^@opsflow\\/localcloud|packages\\/localcloud/]',
          message: 'Only src/devstack/up.ts and src/client/cli.ts load the local cloud package.',
        },
        {
          selector: "CallExpression[callee.name='require'][arguments.0.value=/^@opsflow\\/localcloud|packages\\/localcloud/]",
          message: 'Only src/devstack/up.ts and src/client/cli.ts load the local cloud package.',
        },
      ],
    },
  },
  {
    // Specs are what users write: parsed by the CLI, the client and the workflows alike, so they
    // depend on nothing that decides or does (a spec importing a workflow pulled workflow code into
    // every CLI command).
    files: ['src/specs/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/workflows',
                '**/workflows/**',
                '**/activities',
                '**/activities/**',
                '**/client/**',
                '**/integrations/**',
                '**/devstack/**',
              ],
              message:
                'Specs are pure schemas: they may import zod, yaml, other specs and src/names, never workflows, activities or clients.',
            },
          ],
        },
      ],
    },
  },
  {
    // Rule 1 of the house: workflow code is deterministic, so it may not reach the outside world.
    files: ['src/workflows/**/*.ts'],
    rules: {
      // Type-only imports of activities are how workflows name their signatures; a value import would bundle them.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          // Every activity call carries its Web UI summary: proxies come from shared/summarized-activities.ts.
          paths: [
            {
              name: '@temporalio/workflow',
              importNames: ['proxyActivities', 'proxyLocalActivities'],
              message: 'Use summarizedActivities (shared/summarized-activities.ts): every activity call carries its Web UI summary.',
            },
          ],
          patterns: [
            {
              allowTypeImports: true,
              group: [
                'node:*',
                'fs',
                'fs/*',
                'child_process',
                'net',
                'http',
                'https',
                'crypto',
                'os',
                'path',
                'ssh2',
                'axios',
                'digitalocean-js',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
                '**/activities/**',
                '**/activities',
                '**/client/**',
                '**/devstack/**',
                '**/integrations/**',
                '**/localcloud/**',
              ],
              message: 'Workflows decide, activities do: workflow files import only @temporalio/workflow, specs and pure helpers.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'Workflows may not read the process environment.' }],
    },
  },
);
