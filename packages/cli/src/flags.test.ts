import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseFlags, usage, type FlagSpec } from './flags.js';

const specs: FlagSpec[] = [
  { name: 'socketPath', kind: 'string', usage: 'socket', default: '/tmp/a.sock' },
  { name: 'silent', kind: 'bool', usage: 'quiet' },
  { name: 'audience', kind: 'list', usage: 'aud' },
  { name: 'timeout', kind: 'duration', usage: 'time', default: '1s' },
];

describe('parseFlags (Go flag package rules)', () => {
  it('reads -name value, -name=value, --name, booleans and repeated flags', () => {
    const f = parseFlags(['-socketPath', '/x.sock', '--silent', '-audience=a,b', '-audience', 'c', '-timeout=2s', 'rest', '-silent=false'], specs);
    assert.equal(f.strings.get('socketPath'), '/x.sock');
    assert.equal(f.bools.get('silent'), true);
    assert.deepEqual(f.lists.get('audience'), ['a,b', 'c']);
    assert.equal(f.durations.get('timeout'), 2000);
    // Parsing stops at the first argument that is not a flag.
    assert.deepEqual(f.args, ['rest', '-silent=false']);
  });

  it('reads -silent=false and -h', () => {
    const f = parseFlags(['-silent=false', '-h'], specs);
    assert.equal(f.bools.get('silent'), false);
    assert.equal(f.help, true);
  });

  const bad: Array<[string[], RegExp]> = [
    [['-nope'], /flag provided but not defined: -nope/],
    [['-socketPath'], /flag needs an argument: -socketPath/],
    [['-silent=maybe'], /invalid boolean value/],
    [['-timeout', '5'], /invalid value "5" for flag -timeout/],
  ];
  for (const [argv, error] of bad) {
    it(`refuses ${argv.join(' ')}`, () => assert.throws(() => parseFlags(argv, specs), (e: unknown) => e instanceof FlagError && error.test(e.message)));
  }

  it('prints usage with defaults', () => {
    const text = usage('api fetch x509', specs);
    assert.match(text, /^Usage of api fetch x509:/);
    assert.match(text, /-socketPath string\n\s+\tsocket \(default "\/tmp\/a\.sock"\)/);
    assert.match(text, /-timeout value\n\s+\ttime \(default 1s\)/);
  });
});
