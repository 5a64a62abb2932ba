import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { mintJwtKey } from '../ca/jwt-key.js';
import { mintJwtSvid } from './jwt-svid.js';
import { isFresh, JwtSvidCache, type CachedJwtSvid, type JwtSvidOwner } from './jwt-svid-cache.js';

const T0 = Date.UTC(2030, 0, 1);
const entry: JwtSvidOwner = { id: 'entry-1', spiffeId: 'spiffe://example.org/web', revision: 0 };
const other: JwtSvidOwner = { id: 'entry-2', spiffeId: 'spiffe://example.org/web', revision: 0 };
const anyKid = (): boolean => true;

function svid(token: string, ttlSeconds = 300, kid = 'k1', issuedAt = T0): CachedJwtSvid {
  return { token, kid, issuedAt: new Date(issuedAt), expiresAt: new Date(issuedAt + ttlSeconds * 1000) };
}

describe('JWT-SVID cache', () => {
  it('is fresh while more than half of the lifetime remains, and not once expired', () => {
    const s = svid('t', 300);
    const cases: Array<{ at: number; fresh: boolean }> = [
      { at: T0, fresh: true },
      { at: T0 + 149_999, fresh: true },
      { at: T0 + 150_000, fresh: false },
      { at: T0 + 299_999, fresh: false },
      { at: T0 + 300_000, fresh: false },
      { at: T0 + 400_000, fresh: false },
    ];
    for (const c of cases) assert.equal(isFresh(s, c.at), c.fresh, `at +${c.at - T0} ms`);
  });

  it('serves the same token for the same entry and audience set, in any order', () => {
    const cache = new JwtSvidCache();
    cache.set(entry, ['b', 'a'], svid('ab'));
    const get = (owner: JwtSvidOwner, aud: string[]) => cache.get(owner, aud, { now: T0 + 1000, validKid: anyKid })?.token;
    assert.equal(get(entry, ['a', 'b']), 'ab');
    assert.equal(get(entry, ['b', 'a']), 'ab');
    // A different audience set, or another entry with the same SPIFFE ID, is another token.
    assert.equal(get(entry, ['a']), undefined);
    assert.equal(get(entry, ['a', 'b', 'c']), undefined);
    assert.equal(get(entry, ['a', 'a', 'b']), undefined);
    assert.equal(get(other, ['a', 'b']), undefined);
    // Audience names cannot run into each other.
    cache.set(entry, ['x,y'], svid('comma'));
    assert.equal(get(entry, ['x', 'y']), undefined);
    assert.equal(get(entry, ['x,y']), 'comma');
  });

  it('drops a token at half-life, when its key leaves the bundle, or when its entry changes', () => {
    const cache = new JwtSvidCache();
    const cases: Array<{ name: string; owner?: JwtSvidOwner; now?: number; validKid?: (kid: string) => boolean; served: boolean }> = [
      { name: 'fresh, key published, same revision', served: true },
      { name: 'half of the lifetime gone', now: T0 + 150_000, served: false },
      { name: 'its key no longer in the bundle', validKid: (kid) => kid !== 'k1', served: false },
      { name: 'the entry at another revision', owner: { ...entry, revision: 1 }, served: false },
    ];
    for (const c of cases) {
      cache.set(entry, ['a'], svid('t'));
      const got = cache.get(c.owner ?? entry, ['a'], { now: c.now ?? T0 + 1000, validKid: c.validKid ?? anyKid });
      assert.equal(got?.token, c.served ? 't' : undefined, c.name);
      if (!c.served) {
        // Dropped: not served even under conditions that would allow it.
        assert.equal(cache.get(entry, ['a'], { now: T0 + 1000, validKid: anyKid }), undefined, `${c.name}: dropped`);
      }
    }
  });

  it('forgets the tokens of a deleted entry, and all of them on clear', () => {
    const cache = new JwtSvidCache();
    cache.set(entry, ['a'], svid('e1a'));
    cache.set(entry, ['b'], svid('e1b'));
    cache.set(other, ['a'], svid('e2a'));
    cache.dropEntry(entry.id);
    const opts = { now: T0 + 1000, validKid: anyKid };
    assert.equal(cache.get(entry, ['a'], opts), undefined);
    assert.equal(cache.get(entry, ['b'], opts), undefined);
    assert.equal(cache.get(other, ['a'], opts)?.token, 'e2a');
    cache.clear();
    assert.equal(cache.size, 0);
  });

  it('holds at most maxSize tokens, evicting the least recently used', () => {
    const cache = new JwtSvidCache(2);
    const opts = { now: T0 + 1000, validKid: anyKid };
    cache.set(entry, ['1'], svid('1'));
    cache.set(entry, ['2'], svid('2'));
    assert.equal(cache.get(entry, ['1'], opts)?.token, '1'); // 1 is now the most recently used
    cache.set(entry, ['3'], svid('3'));
    assert.equal(cache.size, 2);
    assert.equal(cache.get(entry, ['2'], opts), undefined);
    assert.equal(cache.get(entry, ['1'], opts)?.token, '1');
    assert.equal(cache.get(entry, ['3'], opts)?.token, '3');
    // Replacing a token does not evict another.
    cache.set(entry, ['3'], svid('3b'));
    assert.equal(cache.size, 2);
    assert.equal(cache.get(entry, ['3'], opts)?.token, '3b');
    assert.throws(() => new JwtSvidCache(0), TypeError);
  });

  it('works with minted tokens: their iat and exp bound the lifetime', async () => {
    const key = mintJwtKey(3600);
    const now = Date.now();
    const minted = await mintJwtSvid({ spiffeId: entry.spiffeId, audience: ['a'], ttlSeconds: 300, key, now });
    assert.equal(minted.expiresAt.getTime() - minted.issuedAt.getTime(), 300_000);
    assert.ok(minted.issuedAt.getTime() <= now && now - minted.issuedAt.getTime() < 1000);
    const cache = new JwtSvidCache();
    cache.set(entry, ['a'], { ...minted, kid: key.id });
    const published = new Set([key.id]);
    const validKid = (kid: string): boolean => published.has(kid);
    assert.equal(cache.get(entry, ['a'], { now, validKid })?.token, minted.token);
    published.clear();
    assert.equal(cache.get(entry, ['a'], { now, validKid }), undefined);
  });
});
