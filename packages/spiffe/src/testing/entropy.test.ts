import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sign, verify } from 'node:crypto';
import { TestCa, seededEntropy } from './ca.js';
import { parseAndVerifyX509Svid } from '../svid/x509/verify.js';
import { X509Svid } from '../svid/x509/x509-svid.js';

/** Everything a fuzz run mints, as bytes. */
function mintAll(seed: number): Buffer[] {
  const entropy = seededEntropy(seed);
  const root = TestCa.create({ trustDomain: 'example.org', entropy });
  const mid = root.intermediate();
  const leaf = mid.svid('/web', { dnsNames: ['web.example.org'] });
  const rsa = TestCa.create({ trustDomain: 'example.org', keyAlgorithm: 'rsa-2048', entropy });
  const p384 = TestCa.create({ trustDomain: 'example.org', keyAlgorithm: 'ec-p384', entropy }).svid('/p384');
  const ed = entropy.keyPair('ed25519');
  return [
    root.der,
    mid.der,
    ...leaf.certificates.map((c) => c.raw),
    leaf.keyDer,
    rsa.der,
    rsa.svid('/rsa').keyDer,
    ...p384.certificates.map((c) => c.raw),
    p384.keyDer,
    ed.privateKey.export({ type: 'pkcs8', format: 'der' }),
  ];
}

describe('seededEntropy: fixtures that a seed replays', () => {
  it('mints byte-identical keys and certificates for the same seed, others for another seed', () => {
    const a = mintAll(344585268);
    const b = mintAll(344585268);
    const c = mintAll(20260125);
    assert.equal(a.length, b.length);
    a.forEach((bytes, i) => assert.ok(bytes.equals(b[i]!), `item ${i} is the same for the same seed`));
    assert.ok(!a[0]!.equals(c[0]!), 'another seed, another root');
  });

  it('mints valid material: chains verify, keys match their certificates, ECDSA and Ed25519 keys sign', () => {
    const entropy = seededEntropy(7);
    for (const keyAlgorithm of ['ec-p256', 'ec-p384', 'rsa-2048'] as const) {
      const root = TestCa.create({ trustDomain: 'example.org', keyAlgorithm, entropy });
      const svid = root.intermediate().svid('/w');
      assert.equal(parseAndVerifyX509Svid(svid.chainDer, root.bundle()).id.toString(), 'spiffe://example.org/w');
      assert.equal(X509Svid.parseRaw(svid.chainDer, svid.keyDer).id.toString(), 'spiffe://example.org/w');
    }
    const ed = entropy.keyPair('ed25519');
    assert.ok(verify(null, Buffer.from('x'), ed.publicKey, sign(null, Buffer.from('x'), ed.privateKey)));
  });

  it('gives certificates a fixed validity that covers now (until the end of 2049)', () => {
    const root = TestCa.create({ trustDomain: 'example.org', entropy: seededEntropy(1) });
    assert.equal(root.certificate.validFrom, 'Jan  1 00:00:00 2025 GMT');
    assert.equal(root.certificate.validTo, 'Dec 31 23:59:59 2049 GMT');
  });
});

describe('seededEntropy: signatures', () => {
  it('signs the same bytes the same way, in DER or IEEE P1363 (JWS), and the signatures verify', () => {
    const entropy = seededEntropy(3);
    for (const [alg, hash, size] of [
      ['ec-p256', 'sha256', 64],
      ['ec-p384', 'sha384', 96],
    ] as const) {
      const { privateKey, publicKey } = entropy.keyPair(alg);
      const data = Buffer.from('header.payload');
      const p1363 = entropy.sign(hash, data, privateKey, 'ieee-p1363');
      assert.equal(p1363.length, size);
      assert.ok(p1363.equals(entropy.sign(hash, data, privateKey, 'ieee-p1363')));
      assert.ok(verify(hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, p1363));
      assert.ok(verify(hash, data, publicKey, entropy.sign(hash, data, privateKey)));
    }
  });
});
