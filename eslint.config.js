// ESLint for the whole workspace (`pnpm lint`): typescript-eslint's type-aware rules on every
// TypeScript file, each file typed by the tsconfig.json nearest to it (the project service), so a
// new package or a new file in an existing one is covered without touching this file.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Built, generated, vendored and recorded files: not ours to lint.
    ignores: [
      '**/node_modules/',
      '**/dist/',
      '**/.turbo/',
      '**/coverage/',
      '**/.api-report/',
      '**/.tmp/',
      '**/.spire/',
      'docs/api/',
      'packages/spiffe/api/',
      'test/bench/results/',
      'test/soak/results/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      // node:test's `test`, `describe`, `it` and `suite` return promises the runner awaits itself;
      // every other promise must be awaited, returned, or handled.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'only', 'skip', 'todo'] },
          ],
        },
      ],
      // Unused bindings are errors, except the ones named `_x` on purpose (a callback's slot, a
      // destructured field dropped from a copy).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // SPIFFE IDs and trust domains are value objects whose toString() is their canonical URI or
      // name, written into messages on purpose; everything else must be a string, number or Error
      // (no '[object Object]' or 'undefined' in an error message).
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allowNumber: true,
          allow: [
            { from: 'lib', name: ['Error', 'URL', 'URLSearchParams'] },
            { from: 'package', package: 'url', name: ['URL', 'URLSearchParams'] },
            { from: 'file', name: ['SpiffeId', 'TrustDomain'] },
            { from: 'package', package: '@spiffe-node/spiffe', name: ['SpiffeId', 'TrustDomain'] },
          ],
        },
      ],
      // An async function without `await` is deliberate where it stands: a function that returns a
      // promise must report its failures as rejections, never as a synchronous throw, and `async`
      // is what guarantees that (dropping it would change behaviour).
      '@typescript-eslint/require-await': 'off',
      // A `let` read by a closure before its one assignment (a shutdown handler set up before the
      // server it closes) must stay a `let`: as a later `const` it would be read in its dead zone.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // The code's own style: `import type` for types only (verbatimModuleSyntax asks it too).
      // `import('x').T` annotations stay allowed: they name the types of optional peers (undici,
      // grpc-js) without a static import that would make them required.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      // A caught `unknown` is passed on as it came (`catch (err) { reject(err) }`): wrapping it
      // would change the error the caller sees.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Augmenting a library's global namespace (express's `Express.Request`) needs `namespace`.
      '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
      // Errors are rewritten on purpose into one line that already quotes the cause's message (the
      // example apps print go-spiffe's lines, the CLIs print one-line diagnostics); attaching
      // `cause` would change what Node prints when such an error reaches its default handler.
      'preserve-caught-error': 'off',
      // A `let` initialised where it is declared and reassigned on every path is a readable default;
      // TypeScript's definite-assignment check already catches the real bug (a read before a write).
      'no-useless-assignment': 'off',
    },
  },
  {
    // Tests read parsed JSON, YAML and protocol documents as `any` and assert on their fields: a
    // document of the wrong shape fails the assertion, which is what the test is for.
    files: ['**/*.test.ts', '**/testing/**/*.ts', 'test/**/*.ts', 'apps/*/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Assertion messages show whatever value a test got, even an object.
      '@typescript-eslint/no-base-to-string': 'off',
      // Tests look for control characters on purpose (log injection, escaping).
      'no-control-regex': 'off',
      // Tests save, compare and restore methods by reference (a prototype patched and put back).
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // apps/api-gateway keeps its tests outside `src` (the app's tsconfig.json builds `src` only);
    // they are typed by the app's tsconfig.test.json, which includes both.
    files: ['apps/api-gateway/test/**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: false,
        project: './apps/api-gateway/tsconfig.test.json',
      },
    },
  },
  {
    // Plain JavaScript (scripts, bins, workers) is in no tsconfig: linted without type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: globals.node,
    },
  },
);
