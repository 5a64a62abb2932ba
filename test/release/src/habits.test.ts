/**
 * The repository's habits, as CI checks them: `pnpm lint` (ESLint with typescript-eslint's
 * type-aware rules, then Prettier's check) and `pnpm knip` (no dead file, export or dependency)
 * find nothing. Each runs the real tool over the whole workspace, as a contributor would.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { REPO_ROOT, run } from './tools.js';

// Type-aware linting of the whole workspace takes a minute or two on a busy two-core machine.
const LINT_TIMEOUT_MS = 900_000;

describe('the habits (pnpm lint, pnpm knip)', () => {
  it('pnpm lint: ESLint and Prettier find nothing', async () => {
    const r = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'lint.mjs')], { cwd: REPO_ROOT, timeoutMs: LINT_TIMEOUT_MS });
    assert.equal(r.code, 0, `${r.output}\nfix with: pnpm lint --fix (then fix by hand what is left)`);
    assert.match(r.stdout, /^lint: clean$/m, r.output);
  });

  it('pnpm knip: no unused file, export or dependency', async () => {
    const r = await run(join(REPO_ROOT, 'node_modules', '.bin', 'knip'), ['--no-progress'], { cwd: REPO_ROOT });
    assert.equal(r.code, 0, r.output);
  });
});
