// ESLint flat config: type-aware rules over the whole TypeScript tree.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The layering shared/ and agent/ keep: no Functions transport, no functions/ module. */
const NOT_THE_TRANSPORT = [
  { group: ['@azure/functions'], message: 'shared/ and agent/ must not import the Functions transport.' },
  { group: ['**/functions/**'], message: 'agent/ and shared/ must not import functions/.' },
];

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', '.local/**', '.tools/**', 'bench/results/**', 'infra/**/*.json'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // local/lifeline.mjs is plain JavaScript: it is preloaded into Azurite, which runs without tsx.
        // bin/ccs.mjs starts the CLI through tsx; console/vite.config.ts is read by Vite only.
        projectService: {
          allowDefaultProject: [
            '*.js',
            '*.mjs',
            'local/lifeline.mjs',
            'bin/ccs.mjs',
            'console/vite.config.ts',
          ],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      // The domain (shared/) must never depend on the Functions transport.
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['shared/**/*.ts', 'agent/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: NOT_THE_TRANSPORT,
        },
      ],
    },
  },
  {
    // Services depend on ports (shared/ports.ts), never on adapters or SDKs: they run on the
    // in-memory stores in unit tests and read without knowing table layouts.
    files: ['shared/services/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...NOT_THE_TRANSPORT,
            {
              group: ['**/adapters/**'],
              message: 'Services depend on ports (shared/ports.ts), not adapters.',
            },
            { group: ['@azure/*', '@azure-rest/*'], message: 'Services use no Azure SDK: add a port.' },
          ],
        },
      ],
    },
  },
  {
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/agent/**'], message: 'functions/ must not import agent/.' }] },
      ],
    },
  },
  {
    // The operator's tools use the public API only: the typed client (client/) and the console
    // (console/src, in browsers) never reach into the API's or the agent's code, nor into Node.js.
    files: ['client/**/*.ts', 'console/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/functions/**', '**/shared/**', '**/agent/**', '**/local/**', '**/cli/**'],
              message: 'The operator tools use the public API through client/ only.',
            },
            { group: ['node:*'], message: 'client/ and the console run in browsers: no Node.js modules.' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);
