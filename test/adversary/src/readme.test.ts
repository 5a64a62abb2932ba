// The README's attack table is the table the tests are generated from.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { markdownTable, README_BEGIN, README_END } from './table.js';

test("the README's attack table matches src/attacks.ts (regenerate it with `pnpm table`)", () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  assert.ok(begin >= 0 && end > begin, 'the README has no attack-table markers');
  assert.equal(readme.slice(begin + README_BEGIN.length, end).trim(), markdownTable());
});
