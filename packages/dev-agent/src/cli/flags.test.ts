import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { FlagError, parseFlags, type FlagSpec } from './flags.js';

const specs: FlagSpec[] = [
  { name: 'spiffeID', kind: 'string', usage: '' },
  { name: 'selector', kind: 'list', usage: '' },
  { name: 'x509SVIDTTL', kind: 'int', usage: '' },
  { name: 'shallow', kind: 'bool', usage: '' },
];

describe('Go-style flags', () => {
  it('accepts -name value, -name=value, --name, repeated lists and booleans', () => {
    const f = parseFlags(
      ['-spiffeID', 'spiffe://example.org/a', '--selector=unix:uid:1', '-selector', 'unix:gid:2', '-x509SVIDTTL=60', '-shallow', 'rest', '-x'],
      specs,
    );
    assert.equal(f.strings.get('spiffeID'), 'spiffe://example.org/a');
    assert.deepEqual(f.lists.get('selector'), ['unix:uid:1', 'unix:gid:2']);
    assert.equal(f.ints.get('x509SVIDTTL'), 60);
    assert.equal(f.bools.get('shallow'), true);
    assert.deepEqual(f.args, ['rest', '-x'], 'parsing stops at the first non-flag');
    assert.equal(parseFlags(['-shallow=false'], specs).bools.get('shallow'), false);
    assert.deepEqual(parseFlags(['--', '-shallow'], specs).args, ['-shallow']);
    assert.equal(parseFlags(['-h'], specs).help, true);
  });

  it('rejects unknown flags, missing values and bad numbers', () => {
    for (const [argv, message] of [
      [['-nope'], /flag provided but not defined: -nope/],
      [['-spiffeID'], /flag needs an argument: -spiffeID/],
      [['-x509SVIDTTL', 'ten'], /invalid value "ten" for flag -x509SVIDTTL/],
      [['-shallow=maybe'], /invalid boolean value/],
    ] as Array<[string[], RegExp]>) {
      assert.throws(() => parseFlags(argv, specs), (err: unknown) => err instanceof FlagError && message.test(err.message));
    }
  });
});
