import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration, formatGoTime } from './go-format.js';

describe('formatGoTime', () => {
  const cases: Array<[string, string]> = [
    ['2024-05-01T10:00:00.000Z', '2024-05-01 10:00:00 +0000 UTC'],
    ['2026-11-25T22:52:55.000Z', '2026-11-25 22:52:55 +0000 UTC'],
    ['2024-05-01T10:00:00.250Z', '2024-05-01 10:00:00.25 +0000 UTC'],
  ];
  for (const [iso, text] of cases) {
    it(`prints ${iso} as Go does`, () => assert.equal(formatGoTime(new Date(iso)), text));
  }
});

describe('formatGoDuration', () => {
  const cases: Array<[bigint, string]> = [
    [0n, '0s'],
    [999n, '999ns'],
    [1_500n, '1.5µs'],
    [8_812_345n, '8.812345ms'],
    [47_054_655n, '47.054655ms'],
    [1_000_000_000n, '1s'],
    [1_500_000_000n, '1.5s'],
    [9_968_052_786n, '9.968052786s'],
    [61_000_000_000n, '1m1s'],
    [3_600_000_000_000n, '1h0m0s'],
    [3_723_500_000_000n, '1h2m3.5s'],
    [-2_000_000n, '-2ms'],
  ];
  for (const [ns, text] of cases) {
    it(`prints ${ns} ns as ${text}`, () => assert.equal(formatGoDuration(ns), text));
  }
});
