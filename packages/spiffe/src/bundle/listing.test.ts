import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrustDomain } from '../spiffeid/index.js';
import { TestCa } from '../testing/ca.js';
import type { X509BundleSource } from './source.js';
import { SpiffeBundle } from './spiffe-bundle.js';
import { SpiffeBundleSet } from './spiffe-bundle-set.js';
import { X509Bundle } from './x509-bundle.js';
import { X509BundleSet } from './x509-bundle-set.js';

// Every bundle source lists its X.509 bundles one way, x509Bundles(), and lists the bundles
// its getX509BundleForTrustDomain() hands out (the same objects, so what OpenSSL is given is
// what the SPIFFE check verifies against).
const example = TestCa.create({ trustDomain: TrustDomain.fromString('example.org') });
const partner = TestCa.create({ trustDomain: TrustDomain.fromString('partner.org') });

function listed(source: Required<X509BundleSource>): string[] {
  const bundles = source.x509Bundles();
  for (const bundle of bundles) {
    assert.ok(bundle instanceof X509Bundle);
    assert.equal(source.getX509BundleForTrustDomain(bundle.trustDomain), bundle);
  }
  return bundles.map((b) => b.trustDomain.name);
}

describe('x509Bundles(): the one listing of every bundle source', () => {
  it('X509Bundle lists itself', () => {
    assert.deepEqual(listed(example.bundle()), ['example.org']);
  });
  it('X509BundleSet lists its members, by trust domain name', () => {
    assert.deepEqual(listed(new X509BundleSet(partner.bundle(), example.bundle())), ['example.org', 'partner.org']);
  });
  it('SpiffeBundle lists its X.509 half', () => {
    assert.deepEqual(listed(SpiffeBundle.fromX509Bundle(example.bundle())), ['example.org']);
  });
  it('SpiffeBundleSet lists the X.509 half of each member', () => {
    const set = new SpiffeBundleSet(SpiffeBundle.fromX509Bundle(partner.bundle()), SpiffeBundle.fromX509Bundle(example.bundle()));
    assert.deepEqual(listed(set), ['example.org', 'partner.org']);
  });
});
