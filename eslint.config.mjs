// ESLint for the whole tree, configured once here (flat config). TypeScript files get typescript-eslint's
// type-checked rules, which catch the bugs a proxy and a log router can least afford (a promise nobody
// awaits, an `any` that hides a wrong shape); Prettier owns formatting, so no stylistic rule is on.
// Rules turned off or tuned below say why in one line; docs/decisions.md has the reasons for the choice.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'test-artifacts/', '.tap/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Real bugs: a promise must be awaited, returned, or marked `void` on purpose.
      // tap's t.test() returns a PromiseWithSubtest that tap itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
      // `x[i]!` marks an index the code knows is in bounds; tsc without noUncheckedIndexedAccess calls it needless.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Node's emitter listeners may be async functions: their errors are handled inside them.
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, properties: false } },
      ],
      // `_`-prefixed names are deliberately unused (placeholders in destructuring and callbacks).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Template literals interpolate numbers and booleans everywhere in log lines and messages.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // Index access is checked by tsc where it matters; `x[i]!` after a bounds check is the codebase's idiom.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `async` methods satisfy interfaces that return promises even when one implementation does not await.
      '@typescript-eslint/require-await': 'off',
      // ws hands messages over as RawData, which includes ArrayBuffer in its type; with ws's default binaryType it
      // is a Buffer, so String(data) is the text.
      '@typescript-eslint/no-base-to-string': [
        'error',
        { ignoredTypeNames: ['Error', 'RegExp', 'URL', 'URLSearchParams', 'ArrayBuffer'] },
      ],
      // Regexes for byte ranges (\x00-\x1f) are deliberate in parsers and quoting.
      'no-control-regex': 'off',
      // A variable a closure reads before its one assignment (a registry wired after the metrics that read it).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `for (;;)` loops with explicit exits are how the state machines and pollers read.
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Tests and benches parse JSON from real servers into loosely typed bodies and assert on them.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // The log viewer runs in the browser as a plain script.
    files: ['src/logplex/viewer/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        window: 'readonly',
        document: 'readonly',
        sessionStorage: 'readonly',
        location: 'readonly',
        fetch: 'readonly',
        WebSocket: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Event: 'readonly',
        CustomEvent: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        requestAnimationFrame: 'readonly',
        Option: 'readonly',
      },
    },
  },
  {
    // Plain Node scripts (this config, helper scripts next to the tests).
    files: ['**/*.mjs', 'test/**/*.js', 'bench/**/*.js', '.ci/**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
  {
    files: ['test/**/*.js', 'bench/**/*.js', '.ci/**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly' },
    },
  },
);
