import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JwtBundle } from './jwt-bundle.js';
import { JwtBundleSet } from './jwt-bundle-set.js';
import { BundleError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { keyPair } from '../svid/jwt/testing/tokens.js';

const a = TrustDomain.fromString('a.org');
const b = TrustDomain.fromString('b.org');
const c = TrustDomain.fromString('c.org');
const bundleOf = (td: TrustDomain, kid = 'k'): JwtBundle => JwtBundle.fromJwtAuthorities(td, new Map([[kid, keyPair('P-256').publicKey]]));

describe('JwtBundleSet', () => {
  it('holds one bundle per trust domain', () => {
    const set = new JwtBundleSet(bundleOf(b), bundleOf(a));
    assert.equal(set.size, 2);
    assert.equal(set.has(a), true);
    assert.equal(set.has(c), false);
    assert.equal(set.get(a)?.trustDomain.name, 'a.org');
    assert.equal(set.get(c), undefined);
    assert.deepEqual(
      set.bundles().map((x) => x.trustDomain.name),
      ['a.org', 'b.org'],
    );
  });

  it('starts empty', () => {
    const set = new JwtBundleSet();
    assert.equal(set.size, 0);
    assert.deepEqual(set.bundles(), []);
  });

  it('replaces the bundle of a trust domain on add, and removes by trust domain', () => {
    const set = new JwtBundleSet(bundleOf(a, 'old'));
    const replacement = bundleOf(a, 'new');
    set.add(replacement);
    assert.equal(set.size, 1);
    assert.equal(set.get(a), replacement);
    assert.equal(set.remove(a), true);
    assert.equal(set.remove(a), false);
    assert.equal(set.size, 0);
  });

  it('hands out the bundle of a held trust domain, ERR_BUNDLE_NOT_FOUND otherwise', () => {
    const bundle = bundleOf(a);
    const set = new JwtBundleSet(bundle, bundleOf(b));
    assert.equal(set.getJwtBundleForTrustDomain(TrustDomain.fromString('A.ORG')), bundle);
    assert.throws(
      () => set.getJwtBundleForTrustDomain(c),
      (err: unknown) =>
        err instanceof BundleError &&
        err.code === 'ERR_BUNDLE_NOT_FOUND' &&
        err.message === 'jwtbundle: no JWT bundle for trust domain "c.org"',
    );
  });

  it('rejects misuse with TypeError', () => {
    assert.throws(() => new JwtBundleSet({} as JwtBundle), TypeError);
    const set = new JwtBundleSet(bundleOf(a));
    assert.throws(() => set.add('a.org' as never), TypeError);
    assert.throws(() => set.get('a.org' as never), TypeError);
    assert.throws(() => set.getJwtBundleForTrustDomain('a.org' as never), TypeError);
    assert.equal(set.size, 1);
  });
});
