/**
 * `pnpm docs`: the API reference of @spiffe-node/spiffe builds from its TSDoc with no TypeDoc
 * warning, and documents every subpath of the package's exports.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, run, typedSubpaths } from './tools.js';

describe('the API reference (pnpm docs)', () => {
  const out = mkdtempSync(join(tmpdir(), 'spiffe-node-docs-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('builds with no TypeDoc warning or error, one page per subpath of the exports', async () => {
    const r = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'docs.mjs'), '--out', out], { cwd: REPO_ROOT });
    assert.equal(r.code, 0, r.output);
    assert.doesNotMatch(r.output, /\[(warning|error)\]/, r.output);
    assert.ok(existsSync(join(out, 'index.html')), `no index.html in ${out}\n${r.output}`);
    const modules = readdirSync(join(out, 'modules')).filter((f) => f.endsWith('.html'));
    assert.equal(modules.length, typedSubpaths().length, `module pages ${modules.join(', ')} for subpaths ${typedSubpaths().join(', ')}`);
  });
});
