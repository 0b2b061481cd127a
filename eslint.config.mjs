// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.opsflow/', 'coverage/'] },
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
    // Rule 1 of the house: workflow code is deterministic, so it may not reach the outside world.
    files: ['src/workflows/**/*.ts'],
    rules: {
      // Type-only imports of activities are how workflows name their signatures; a value import would bundle them.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              allowTypeImports: true,
              group: ['node:*', 'fs', 'fs/*', 'child_process', 'net', 'http', 'https', 'crypto', 'os', 'path', 'ssh2', 'axios', 'digitalocean-js', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', '**/activities/**', '**/activities', '**/client/**', '**/devstack/**', '**/integrations/**', '**/localcloud/**'],
              message: 'Workflows decide, activities do: workflow files import only @temporalio/workflow, specs and pure helpers.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'Workflows may not read the process environment.' }],
    },
  },
);
