// Every YAML file under deploy/ parses, every document of it, with the YAML 1.1 rules of the Go
// decoders that read them (Kubernetes, Compose) and the same meaning under YAML 1.2; no duplicate
// keys. The reader itself is shown to refuse what it must refuse.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deployDir, rel, walk } from './lib/repo.js';
import { loadYaml } from './lib/yaml-docs.js';

const yamlFiles = walk(deployDir, (p) => p.endsWith('.yaml') || p.endsWith('.yml'));

test('deploy/ has YAML files (compose, Kubernetes, Helm values)', () => {
  const names = yamlFiles.map(rel);
  for (const expected of ['deploy/compose/compose.yaml', 'deploy/k8s/spire/spire-values.yaml', 'deploy/k8s/apps/kustomization.yaml']) {
    assert.ok(names.includes(expected), `${expected} missing`);
  }
});

describe('every YAML file under deploy/ parses, every document', () => {
  for (const file of yamlFiles) {
    test(rel(file), () => {
      const parsed = loadYaml(file);
      assert.deepEqual(parsed.problems, []);
      assert.ok(parsed.docs.length > 0, `${rel(file)} holds no document`);
    });
  }
});

describe('the YAML reader refuses what the Go decoders refuse or read differently', () => {
  const cases: { what: string; text: string; docs?: number; problem?: RegExp }[] = [
    { what: 'two documents', text: 'a: 1\n---\nb: 2\n', docs: 2 },
    { what: 'a trailing separator (no empty document)', text: 'a: 1\n---\n', docs: 1 },
    { what: 'a merge key', text: 'base: &base {a: 1}\nderived:\n  <<: *base\n  b: 2\n', docs: 1 },
    { what: 'a quoted "on"', text: 'flag: "on"\n', docs: 1 },
    { what: 'a duplicate key', text: 'a: 1\na: 2\n', problem: /DUPLICATE_KEY/ },
    { what: 'a tab-indented mapping', text: 'a:\n\tb: 1\n', problem: /TAB_AS_INDENT|BAD_INDENT|unexpected/i },
    { what: 'an unclosed flow sequence', text: 'a: [1, 2\n', problem: /.+/ },
    { what: 'an unquoted on (a boolean in YAML 1.1)', text: 'flag: on\n', problem: /reads differently as YAML 1\.1 and 1\.2/ },
    { what: 'an unquoted 0755 (octal in YAML 1.1)', text: 'mode: 0755\n', problem: /reads differently/ },
    { what: 'a key y (a boolean in YAML 1.1)', text: 'y: 1\n', problem: /reads differently/ },
  ];
  for (const c of cases) {
    test(c.what, () => {
      const parsed = loadYaml('/virtual/case.yaml', c.text);
      if (c.problem) {
        assert.ok(
          parsed.problems.some((p) => c.problem?.test(p)),
          `expected a problem matching ${c.problem}, got ${JSON.stringify(parsed.problems)}`,
        );
      } else {
        assert.deepEqual(parsed.problems, []);
        assert.equal(parsed.docs.length, c.docs);
      }
    });
  }

  test('a merge key merges', () => {
    const parsed = loadYaml('/virtual/merge.yaml', 'base: &base {a: 1}\nderived:\n  <<: *base\n  b: 2\n');
    assert.deepEqual(parsed.docs[0]?.value, { base: { a: 1 }, derived: { a: 1, b: 2 } });
  });
});
