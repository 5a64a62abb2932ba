// The attacks on the CLI's helper daemon, generated from the table (src/attacks.ts).
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { helperAttacks, testName, type HelperAttack } from './attacks.js';
import { Fixtures } from './fixtures.js';
import { HELPER_TARGET, HelperRun, honestIdentity } from './helper.js';
import { helperRow } from './table.js';

let fx: Fixtures;
before(() => {
  fx = Fixtures.create();
});
after(() => fx?.remove());

const mode = (path: string): number => statSync(path).mode & 0o777;

function assertKeyWritten(run: HelperRun, result: { code: number | null; output: string }): void {
  assert.equal(result.code, 0, `the helper failed: ${result.output}`);
  const key = join(run.certDir, 'svid_key.pem');
  assert.match(readFileSync(key, 'utf8'), /PRIVATE KEY/);
  assert.equal(mode(key), 0o600, `the key is readable by others: mode ${mode(key).toString(8)}`);
}

/** Each attack of the table, by id: plant, run the helper, check what it left. */
const procedures: Record<string, (run: HelperRun, attack: HelperAttack) => Promise<void>> = {
  async 'planted-key-symlink'(run) {
    const victim = join(run.dir, 'victim');
    writeFileSync(victim, 'victim\n', { mode: 0o644 });
    symlinkSync(victim, join(run.certDir, 'svid_key.pem'));
    const result = await run.run(honestIdentity(fx));
    assert.equal(readFileSync(victim, 'utf8'), 'victim\n', 'the helper wrote through the planted symlink into the victim');
    assert.equal(mode(victim), 0o644, 'the helper changed the mode of the symlink target');
    assertKeyWritten(run, result);
  },
  async 'planted-data-symlink'(run) {
    symlinkSync(run.attackerDir, join(run.certDir, '..data'));
    const result = await run.run(honestIdentity(fx));
    assert.deepEqual(readdirSync(run.attackerDir), [], "the helper wrote into the attacker's folder");
    assertKeyWritten(run, result);
  },
  async 'hostile-umask'(run) {
    const result = await run.run(honestIdentity(fx), 0o000);
    assertKeyWritten(run, result);
    for (const entry of readdirSync(run.certDir)) {
      const path = join(run.certDir, entry);
      if (lstatSync(path).isSymbolicLink()) continue;
      assert.equal(mode(path) & 0o022, 0, `${entry} is writable by others: mode ${mode(path).toString(8)}`);
    }
  },
  async 'mismatched-key'(run, attack) {
    const result = await run.run({ ...honestIdentity(fx), svid: { ...fx.pair('client'), key: fx.pair('server').key } });
    assert.notEqual(result.code, 0, `the helper accepted an SVID whose key is not the certificate's: ${result.output}`);
    assert.deepEqual(readdirSync(run.certDir), [], `the helper wrote files: ${readdirSync(run.certDir).join(', ')}`);
    assert.match(result.output, attack.reason as RegExp);
  },
};

describe(`helper ${HELPER_TARGET}`, () => {
  for (const attack of helperAttacks) {
    test(testName(helperRow(attack)), async () => {
      const procedure = procedures[attack.id];
      assert.ok(procedure, `no procedure for the attack ${attack.id}`);
      const run = new HelperRun();
      try {
        await procedure(run, attack);
      } finally {
        run.remove();
      }
    });
  }
});
