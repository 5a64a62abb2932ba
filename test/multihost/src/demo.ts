#!/usr/bin/env node
/**
 * `pnpm demo:multihost` (root): the example apps across hosts that are really apart (Linux network
 * namespaces), within one SPIRE trust domain and across two federated ones. Prints each scenario's
 * checks and a verdict; exits non-zero when a scenario failed or the topology could not be built.
 */
import type { ScenarioResult } from '@spiffe-node/harness';
import { cannotRun, runMultihost } from './run.js';

function print(result: ScenarioResult): void {
  console.log(`\n${result.ok ? 'PASS' : 'FAIL'}  ${result.name}`);
  for (const c of result.checks) console.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}`);
  if (!result.ok) {
    for (const { name, output } of result.outputs)
      console.log(`    [${name}]\n${output.trim() ? output.replace(/^/gm, '      ') : '      (no output)'}`);
  }
}

async function main(): Promise<boolean> {
  const reason = cannotRun();
  if (reason) throw new Error(reason);
  const started = Date.now();
  console.log('== topology: a-server, a-host1, a-host2 (example.org), b-host (partner.org), federated ==');
  const results = await runMultihost({ log: (line) => console.log(line), onResult: print });
  const passed = results.filter((r) => r.ok).length;
  console.log('\n== verdict ==');
  for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}`);
  const ok = results.length > 0 && passed === results.length;
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`\n${passed} of ${results.length} multi-host scenarios passed in ${seconds} s${ok ? '.' : ': see FAIL above.'}`);
  return ok;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err: unknown) => {
    console.error(`demo:multihost failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
