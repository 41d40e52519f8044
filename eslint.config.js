// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// One config for the whole workspace; each package runs `eslint .` from its own folder and ESLint
// finds this file by walking up. Type-aware rules catch what matters most in I/O code later
// (floating promises, misused promises) as well as the usual mistakes.
export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/dist-browser/**',
      // Temporary files tsup and Vite write beside their configs while a build runs.
      '**/*.bundled_*.mjs',
      '**/*.timestamp-*.mjs',
      '**/node_modules/**',
      '**/.turbo/**',
      '**/coverage/**',
      'docs/api/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.config.ts', '*.config.js', '*.config.mjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Numbers in template literals are the normal way to build messages here.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // Non-null assertions on indexed reads inside bounds-checked loops are the codec's idiom.
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The core is sans-I/O: no sockets, files, timers or clocks may creep in.
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'net',
            'node:net',
            'dgram',
            'node:dgram',
            'fs',
            'node:fs',
            'fs/promises',
            'node:fs/promises',
            'timers',
            'node:timers',
            'timers/promises',
            'node:timers/promises',
            'child_process',
            'node:child_process',
            'http',
            'node:http',
            'os',
            'node:os',
          ].map((name) => ({ name, message: '@lanchat/core is sans-I/O: adapters own I/O.' })),
        },
      ],
      'no-restricted-globals': [
        'error',
        ...[
          'setTimeout',
          'setInterval',
          'setImmediate',
          'queueMicrotask',
          'fetch',
          'performance',
        ].map((name) => ({
          name,
          message: '@lanchat/core takes time as an argument and owns no timers.',
        })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: '@lanchat/core takes `now` as an argument.' },
        {
          object: 'Math',
          property: 'random',
          message: '@lanchat/core takes randomness from its caller.',
        },
      ],
    },
  },
  {
    // `expect(() => decoder.nextFrame()).toThrow(...)` is how a test says "this call throws".
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-confusing-void-expression': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: globals.node,
    },
  },
);
