import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { RotatingSet, type Rotatable } from './rotation.js';

let n = 0;
const minter = (now: number, ttlMs: number) => async (): Promise<Rotatable> => {
  n += 1;
  return { id: `k${n}`, issuedAt: new Date(now), notAfter: new Date(now + ttlMs) };
};

describe('RotatingSet', () => {
  it('mints a key, publishes a successor at half-life, hands over at three quarters, drops expired keys', async () => {
    const set = new RotatingSet<Rotatable>([], undefined);
    const t0 = 1_000_000;
    const ttl = 1000;
    assert.deepEqual(await set.maintain(t0, minter(t0, ttl)), { published: true, activated: true });
    const first = set.active!;
    assert.equal(set.nextDue(), t0 + 500);

    // Before half-life: nothing to do.
    assert.deepEqual(await set.maintain(t0 + 499, minter(t0 + 499, ttl)), { published: false, activated: false });
    // At half-life: a successor is published, the first still signs.
    assert.deepEqual(await set.maintain(t0 + 500, minter(t0 + 500, ttl)), { published: true, activated: false });
    assert.equal(set.keys.length, 2);
    assert.equal(set.active, first);
    assert.equal(set.nextDue(), t0 + 750);
    // At three quarters: the successor signs; the first stays published.
    assert.deepEqual(await set.maintain(t0 + 750, minter(t0 + 750, ttl)), { published: false, activated: true });
    assert.notEqual(set.active, first);
    assert.equal(set.keys.length, 2);
    // Just before the first expires it is still published; once expired it is dropped.
    const second = set.active;
    assert.deepEqual(await set.maintain(t0 + 999, minter(t0 + 999, ttl)), { published: false, activated: false });
    assert.equal(set.keys.length, 2);
    const r = await set.maintain(t0 + 1000, minter(t0 + 1000, ttl));
    assert.equal(r.published, true);
    assert.ok(!set.keys.includes(first));
    assert.equal(set.active, second);
  });

  it('rotates at once on demand, keeping the old key published', async () => {
    const set = new RotatingSet<Rotatable>([], undefined);
    await set.maintain(0, minter(0, 1000));
    const old = set.active!;
    const key = await set.rotateNow(minter(10, 1000));
    assert.equal(set.active, key);
    assert.deepEqual(
      set.keys.map((k) => k.id),
      [old.id, key.id],
    );
  });

  it('replaces an active key that expired while nothing ran', async () => {
    const set = new RotatingSet<Rotatable>([], undefined);
    await set.maintain(0, minter(0, 1000));
    const r = await set.maintain(5000, minter(5000, 1000));
    assert.deepEqual(r, { published: true, activated: true });
    assert.equal(set.keys.length, 1);
    assert.equal(set.active!.issuedAt.getTime(), 5000);
  });
});
