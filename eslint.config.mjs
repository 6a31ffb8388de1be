// ESLint: typescript-eslint's type-aware rules over src/, test/ and bench/,
// and the purity rules of the core (which imports dependency-cruiser checks,
// in .dependency-cruiser.cjs; what the code may *call*, here). Formatting is
// Prettier's (eslint-config-prettier turns off the rules it owns).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// The pure folders: bytes, events and the time in; frames, hints and decisions out.
const PURE = ['src/protocol/**/*.ts', 'src/topology/**/*.ts', 'src/policy/**/*.ts', 'src/fleet/model/**/*.ts'];

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'coverage/**', '.tap/**', 'node_modules/**', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { project: './tsconfig.lint.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    // tap's style: subtests are started, not awaited (tap awaits them), and
    // their callbacks are async whether or not they await.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The fleet map's page: browser code with its own tsconfig (the DOM lib).
    // Node's types are in that tsconfig only for the API's types; the page
    // itself must not use Node's globals.
    files: ['web/**/*.ts'],
    languageOptions: { parserOptions: { project: './web/tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      'no-restricted-globals': [
        'error',
        ...['process', 'Buffer', 'require', 'module', '__dirname', 'global', 'setImmediate'].map((name) => ({ name, message: 'the page runs in a browser' })),
      ],
    },
  },
  {
    files: PURE,
    rules: {
      // No sockets, files, processes or threads (dependency-cruiser forbids
      // those modules outright); node:net only for its address parsers.
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'node:net', allowImportNames: ['isIP', 'isIPv4', 'isIPv6'], message: 'pure code parses addresses; sockets belong to a driver' }] },
      ],
      // No timers and no clock: the time is a parameter.
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'queueMicrotask', 'process', 'performance'].map((name) => ({
          name,
          message: 'pure code takes the time and schedules nothing: the driver does',
        })),
      ],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'pure code takes the time as a parameter' }],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'pure code takes the time as a parameter' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        setImmediate: 'readonly',
        clearTimeout: 'readonly',
      },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
