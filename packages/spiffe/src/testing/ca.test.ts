import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { TestCa, createTestCa } from './ca.js';
import { KeyUsage, readCertInfo } from '../svid/x509/cert-info.js';

const facts = (cert: X509Certificate) => readCertInfo(cert, cert.raw, 'k');

describe('TestCa (the test certificate authority)', () => {
  it('mints a self-signed root of the trust domain, EC P-256 by default', async () => {
    const ca = await createTestCa({ trustDomain: 'Example.org' });
    assert.equal(ca.trustDomain.name, 'example.org');
    assert.equal(ca.root, ca);
    assert.deepEqual(ca.chain(), []);
    assert.equal(ca.certificate.ca, true);
    assert.equal(ca.certificate.verify(ca.publicKey), true);
    assert.equal(ca.certificate.checkIssued(ca.certificate), true);
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(ca.certificate.subjectAltName, 'URI:spiffe://example.org');
    assert.ok(createPrivateKey(ca.keyPem).equals(ca.privateKey));
    assert.equal(new X509Certificate(ca.pem).fingerprint256, ca.certificate.fingerprint256);
    assert.ok(ca.bundle().hasAuthority(ca.certificate));
  });

  it('mints P-384 and RSA hierarchies whose signatures verify natively', () => {
    for (const [keyAlgorithm, check] of [
      ['ec-p384', (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => k.asymmetricKeyDetails?.namedCurve === 'secp384r1'],
      ['rsa-2048', (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => k.asymmetricKeyType === 'rsa'],
    ] as const) {
      const ca = TestCa.create({ trustDomain: 'example.org', keyAlgorithm });
      const mid = ca.intermediate();
      const svid = mid.svid('/w');
      assert.ok(check(ca.publicKey) && check(mid.publicKey) && check(svid.privateKey));
      assert.equal(mid.certificate.verify(ca.publicKey), true);
      assert.equal(svid.leaf.verify(mid.publicKey), true);
    }
  });

  it('returns an SVID chain leaf first, without the root unless asked', () => {
    const ca = TestCa.create({ trustDomain: 'example.org' });
    const m1 = ca.intermediate();
    const m2 = m1.intermediate();
    const svid = m2.svid('/w');
    assert.equal(svid.id, 'spiffe://example.org/w');
    assert.deepEqual(
      svid.certificates.map((c) => c.fingerprint256),
      [svid.leaf, m2.certificate, m1.certificate].map((c) => c.fingerprint256),
    );
    assert.equal(svid.chainDer.length, 3);
    assert.equal((svid.certPem.match(/BEGIN CERTIFICATE/g) ?? []).length, 3);
    assert.ok(createPrivateKey({ key: svid.keyDer, format: 'der', type: 'pkcs8' }).equals(svid.privateKey));
    assert.equal(m2.svid('/w', { includeRoot: true }).certificates.at(-1)?.fingerprint256, ca.certificate.fingerprint256);
    assert.equal(svid.leaf.checkPrivateKey(svid.privateKey), true);
  });

  it('injects each defect on request, and none by default', () => {
    const ca = TestCa.create({ trustDomain: 'example.org' });
    const clean = facts(ca.leaf('/w').certificate);
    assert.deepEqual([clean.isCa, clean.uris], [false, ['spiffe://example.org/w']]);
    assert.equal(clean.keyUsage! & KeyUsage.digitalSignature, KeyUsage.digitalSignature);
    assert.equal(clean.keyUsage! & (KeyUsage.keyCertSign | KeyUsage.cRLSign), 0);

    assert.equal(facts(ca.leaf('/w', { isCa: true }).certificate).isCa, true);
    assert.equal(facts(ca.leaf('/w', { keyUsage: ['keyCertSign'] }).certificate).keyUsage, KeyUsage.keyCertSign);
    assert.equal(facts(ca.leaf('/w', { keyUsage: null }).certificate).keyUsage, undefined);
    assert.equal(ca.leaf('/w', { uris: [] }).certificate.subjectAltName, undefined);
    assert.equal(ca.leaf('/w', { uris: ['a:b', 'c:d'], dnsNames: ['x.test'] }).certificate.subjectAltName, 'DNS:x.test, URI:a:b, URI:c:d');
    assert.equal(ca.leaf('').certificate.subjectAltName, 'URI:spiffe://example.org');
    // An empty subject: Node 20 shows `undefined`, Node 22+ an empty string.
    assert.ok(!ca.leaf('/w', { subject: {} }).certificate.subject);
    const notAfter = new Date('2030-01-02T03:04:05Z');
    assert.equal(Date.parse(ca.leaf('/w', { notAfter }).certificate.validTo), notAfter.getTime());
    assert.equal(facts(ca.intermediate({ isCa: false }).certificate).isCa, false);
    assert.equal(facts(ca.intermediate({ keyUsage: ['cRLSign'] }).certificate).keyUsage, KeyUsage.cRLSign);
    const forged = ca.leaf('/w', { signingKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey });
    assert.equal(forged.certificate.checkIssued(ca.certificate), true);
    assert.equal(forged.certificate.verify(ca.publicKey), false);
  });
});
