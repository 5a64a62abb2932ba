import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagError, parseFlags, type FlagSpec } from './flags.js';

const specs: FlagSpec[] = [
  { name: 'socketPath', kind: 'string', usage: 'socket', default: '/tmp/a.sock' },
  { name: 'silent', kind: 'bool', usage: 'quiet' },
  { name: 'selector', kind: 'list', usage: 'selectors' },
  { name: 'x509SVIDTTL', kind: 'int', usage: 'ttl' },
  { name: 'timeout', kind: 'duration', usage: 'time', default: '1s' },
];

describe('parseFlags (Go flag package rules)', () => {
  it('reads -name value, -name=value, --name, booleans, ints, durations and repeated flags', () => {
    const f = parseFlags(
      [
        '-socketPath',
        '/x.sock',
        '--silent',
        '-selector=unix:uid:1',
        '-selector',
        'unix:gid:2',
        '-x509SVIDTTL=60',
        '-timeout=2s',
        'rest',
        '-silent=false',
      ],
      specs,
    );
    assert.equal(f.strings.get('socketPath'), '/x.sock');
    assert.equal(f.bools.get('silent'), true);
    assert.deepEqual(f.lists.get('selector'), ['unix:uid:1', 'unix:gid:2']);
    assert.equal(f.ints.get('x509SVIDTTL'), 60);
    assert.equal(f.durations.get('timeout'), 2000);
    // Parsing stops at the first argument that is not a flag.
    assert.deepEqual(f.args, ['rest', '-silent=false']);
    assert.equal(f.help, false);
  });

  it('reads -silent=false, -h and stops at --', () => {
    const f = parseFlags(['-silent=false', '-h'], specs);
    assert.equal(f.bools.get('silent'), false);
    assert.equal(f.help, true);
    assert.deepEqual(parseFlags(['--', '-silent'], specs).args, ['-silent']);
    assert.deepEqual(parseFlags(['-', 'x'], specs).args, ['-', 'x']);
  });

  const bad: Array<[string[], RegExp]> = [
    [['-nope'], /^flag provided but not defined: -nope$/],
    [['-socketPath'], /^flag needs an argument: -socketPath$/],
    [['-silent=maybe'], /^invalid boolean value "maybe" for -silent$/],
    [['-x509SVIDTTL', 'ten'], /^invalid value "ten" for flag -x509SVIDTTL: parse error$/],
    [['-timeout', '5'], /^invalid value "5" for flag -timeout: parse error/],
  ];
  for (const [argv, error] of bad) {
    it(`refuses ${argv.join(' ')}`, () =>
      assert.throws(
        () => parseFlags(argv, specs),
        (e: unknown) => e instanceof FlagError && error.test(e.message),
      ));
  }
});
