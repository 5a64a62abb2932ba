import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jwtRefreshDelay } from './helper.js';

const NOW = 1_800_000_000_000; // a whole second
const token = (iatOffsetMs: number | undefined, lifetimeMs: number) => ({
  expiry: new Date(NOW + (iatOffsetMs ?? 0) + lifetimeMs),
  claims: iatOffsetMs === undefined ? {} : { iat: (NOW + iatOffsetMs) / 1000 },
});

describe('jwtRefreshDelay', () => {
  const cases: Array<{ name: string; svid: ReturnType<typeof token>; unchanged?: boolean; delay: number }> = [
    { name: 'a fresh 5-minute token: a second before half its lifetime', svid: token(0, 300_000), delay: 149_000 },
    { name: 'a fresh 10-second token: a tenth of its lifetime before half', svid: token(0, 10_000), delay: 4000 },
    { name: 'a token issued 100 s ago: from its iat, not from now', svid: token(-100_000, 300_000), delay: 49_000 },
    { name: 'a token without iat: from now', svid: token(undefined, 300_000), delay: 149_000 },
    { name: 'the same token again: just after its half-life', svid: token(-100_000, 300_000), unchanged: true, delay: 50_100 },
    { name: 'a token past its half-life: in a second, not at once', svid: token(-200_000, 300_000), delay: 1000 },
    { name: 'a 2-second token: never sooner than a second', svid: token(0, 2000), delay: 1000 },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(jwtRefreshDelay(c.svid, { now: NOW, unchanged: c.unchanged }), c.delay));
  }
  it('always fetches before half the lifetime of a fresh token', () => {
    for (const lifetime of [3000, 10_000, 60_000, 300_000, 3_600_000]) {
      const delay = jwtRefreshDelay(token(0, lifetime), { now: NOW });
      assert.ok(delay < lifetime / 2, `${lifetime}: ${delay}`);
    }
  });
});
