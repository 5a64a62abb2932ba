#!/usr/bin/env node
// `pnpm lint`: ESLint (typescript-eslint's type-aware rules, eslint.config.js) over the whole
// workspace, then Prettier's check of the formatting (.prettierrc.json). Both run, and the exit
// code is non-zero when either found something.
//
//   pnpm lint          report only
//   pnpm lint --fix    apply ESLint's fixes and Prettier's formatting, then report what is left
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--fix');
if (unknown.length > 0) {
  console.error(`lint: unknown argument ${unknown.join(' ')} (expected --fix)`);
  process.exit(2);
}
const fix = args.includes('--fix');

function step(name, bin, commandArgs) {
  console.log(`lint: ${name}`);
  const r = spawnSync(join(root, 'node_modules', '.bin', bin), commandArgs, { cwd: root, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status === 0;
}

const eslint = step('eslint', 'eslint', ['.', '--max-warnings=0', ...(fix ? ['--fix'] : [])]);
const prettier = step(fix ? 'prettier --write' : 'prettier --check', 'prettier', [fix ? '--write' : '--check', '--log-level=warn', '.']);
if (!eslint || !prettier) {
  console.error(
    `lint: ${[!eslint && 'eslint', !prettier && 'prettier'].filter(Boolean).join(' and ')} found problems${fix ? '' : ' (`pnpm lint --fix` fixes what can be fixed)'}`,
  );
  process.exit(1);
}
console.log('lint: clean');
