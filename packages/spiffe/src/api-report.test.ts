import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// The public API is what packages/spiffe/api/*.api.md say it is: a change to an export (added,
// removed, a changed signature, something internal that leaked) fails here until the reports
// are regenerated with `pnpm api` and committed, so every API change is a deliberate one.
describe('public API report', () => {
  it('matches the committed reports (run `pnpm api` after a deliberate change)', () => {
    const script = fileURLToPath(new URL('../../../scripts/api-report.mjs', import.meta.url));
    const result = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });
});
