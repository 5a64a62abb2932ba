import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const dir = mkdtempSync(join(tmpdir(), 'go-cli-main-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const mainModule = fileURLToPath(new URL('./main-module.ts', import.meta.url));

/** Writes an .mjs program whose main prints its arguments and returns `code` (or throws). */
function program(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `import { runAsProgram } from ${JSON.stringify(mainModule)};\nrunAsProgram(import.meta.url, async (argv) => { ${body} });\n`,
  );
  return path;
}

function run(path: string, args: string[] = []) {
  return spawnSync(process.execPath, ['--import', 'tsx', path, ...args], { encoding: 'utf8' });
}

describe('runAsProgram', () => {
  it('runs main with the arguments and exits with its code', () => {
    const path = program('exits.mjs', 'console.log(JSON.stringify(argv)); return 3;');
    const r = run(path, ['-flag', 'value']);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stdout.trim(), '["-flag","value"]');
  });

  it('runs it through a symlinked bin too', () => {
    const path = program('linked.mjs', 'return 4;');
    const link = join(dir, 'bin-link.mjs');
    symlinkSync(path, link);
    assert.equal(run(link).status, 4);
  });

  it('does nothing when the module is imported', () => {
    const path = program('imported.mjs', "console.log('ran'); return 5;");
    const importer = join(dir, 'importer.mjs');
    writeFileSync(importer, `await import(${JSON.stringify(path)});\n`);
    const r = run(importer);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
  });

  it('prints an unexpected error and exits 1', () => {
    const r = run(program('throws.mjs', "throw new Error('boom');"));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^Error: Error: boom\n/);
  });
});
