// Every shell script under deploy/, apps/, scripts/ and test/ passes shellcheck (default severity,
// sourced files followed). Without shellcheck: skipped with the reason, unless CI is set.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { rel, repoRoot, walk } from './lib/repo.js';
import { formatFinding, isShellScript, shellcheck, shellcheckSkip, type Finding } from './lib/shellcheck.js';

const scripts = ['deploy', 'apps', 'scripts', 'test'].flatMap((dir) => walk(join(repoRoot, dir), isShellScript));

test('the scripts of deploy/ are among those checked', () => {
  const names = scripts.map(rel);
  for (const expected of [
    'deploy/compose/bootstrap.sh',
    'deploy/compose/register-apps.sh',
    'deploy/k8s/register.sh',
    'deploy/spire/start.sh',
    'scripts/setup.sh',
  ]) {
    assert.ok(names.includes(expected), `${expected} is not checked; found ${names.join(', ')}`);
  }
});

describe('shellcheck', { skip: shellcheckSkip }, () => {
  let findings: Finding[] = [];
  before(async () => {
    findings = await shellcheck(scripts);
  });

  for (const file of scripts) {
    test(rel(file), () => {
      assert.deepEqual(findings.filter((f) => f.file === file).map(formatFinding), []);
    });
  }

  const cases: { what: string; script: string; code: number }[] = [
    { what: 'an unquoted expansion', script: '#!/usr/bin/env bash\nrm -rf $1/tmp\n', code: 2086 },
    { what: 'a cd that may fail', script: '#!/usr/bin/env bash\ncd /nonexistent\nrm -f x\n', code: 2164 },
    { what: 'a variable used but never set', script: '#!/usr/bin/env bash\nset -u\necho "${undefined_thing}"\n', code: 2154 },
  ];
  for (const c of cases) {
    test(`finds ${c.what} (SC${c.code})`, async () => {
      const found = await shellcheck([], { stdin: c.script });
      assert.ok(
        found.some((f) => f.code === c.code),
        JSON.stringify(found),
      );
      const fixed = await shellcheck([], { stdin: '#!/usr/bin/env bash\nset -euo pipefail\nprintf \'%s\\n\' "ok"\n' });
      assert.deepEqual(fixed, []);
    });
  }
});
