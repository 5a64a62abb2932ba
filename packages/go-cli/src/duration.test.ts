import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGoDuration } from './duration.js';

describe('parseGoDuration', () => {
  it('reads what time.ParseDuration reads, in milliseconds', () => {
    const cases: Array<[string, number]> = [
      ['0', 0],
      ['1s', 1000],
      ['500ms', 500],
      ['1m30s', 90_000],
      ['1.5h', 5_400_000],
      ['+2s', 2000],
      ['1500us', 1.5],
      ['2µs', 0.002],
      ['.5s', 500],
      ['1.5s', 1500],
      ['250us', 0.25],
    ];
    for (const [text, ms] of cases) assert.equal(parseGoDuration(text), ms, text);
  });

  it('refuses what it does not read: no unit, negative, empty, junk', () => {
    for (const text of ['5', '-1s', '', 's', '.s', '1d', '1x', '1s2', '1s junk', '1 s'])
      assert.equal(parseGoDuration(text), undefined, text);
  });
});
