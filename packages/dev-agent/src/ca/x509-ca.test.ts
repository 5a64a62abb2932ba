// @peculiar/x509 needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { createPrivateKey, createPublicKey, type X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import type { KeyType } from './key-type.js';
import { loadSigningCert, mintIntermediateCa, mintRootCa, mintX509Svid, storeSigningCert } from './x509-ca.js';

function keyUsage(cert: X509Certificate): number {
  const ext = new x509.X509Certificate(cert.raw).getExtension(x509.KeyUsagesExtension);
  assert.ok(ext, 'key usage present');
  assert.equal(ext.critical, true);
  return ext.usages;
}

describe('X.509 CA minting', () => {
  for (const keyType of ['ec-p256', 'ec-p384', 'rsa-2048'] as KeyType[]) {
    it(`mints a conformant root, intermediate and X509-SVID (${keyType})`, async () => {
      const root = await mintRootCa({ trustDomain: 'example.org', keyType, ttlSeconds: 86400 });
      const mid = await mintIntermediateCa({ trustDomain: 'example.org', keyType, ttlSeconds: 3600, issuer: root });
      const svid = await mintX509Svid({
        spiffeId: 'spiffe://example.org/web',
        dnsNames: ['web.local'],
        keyType,
        ttlSeconds: 600,
        issuer: mid,
      });

      for (const ca of [root.cert, mid.cert]) {
        assert.equal(ca.ca, true);
        const usages = keyUsage(ca);
        assert.ok(usages & x509.KeyUsageFlags.keyCertSign);
        assert.equal(ca.subjectAltName, 'URI:spiffe://example.org');
      }
      assert.ok(root.cert.verify(root.cert.publicKey));
      assert.ok(mid.cert.checkIssued(root.cert) && mid.cert.verify(root.cert.publicKey));

      assert.equal(svid.cert.ca, false);
      const usages = keyUsage(svid.cert);
      assert.ok(usages & x509.KeyUsageFlags.digitalSignature);
      assert.equal(usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign), 0);
      assert.equal(svid.cert.subjectAltName, 'URI:spiffe://example.org/web, DNS:web.local');
      assert.ok(svid.cert.checkIssued(mid.cert) && svid.cert.verify(mid.cert.publicKey));
      assert.ok(!svid.cert.verify(root.cert.publicKey), 'signed by the intermediate, not the root');
      const key = createPrivateKey({ key: svid.privateKeyDer, format: 'der', type: 'pkcs8' });
      assert.deepEqual(
        createPublicKey(key).export({ type: 'spki', format: 'der' }),
        svid.cert.publicKey.export({ type: 'spki', format: 'der' }),
      );
      const lifetime = svid.notAfter.getTime() - svid.notBefore.getTime();
      assert.ok(Math.abs(lifetime - 610_000) <= 1000, `lifetime ${lifetime}`);
    });
  }

  it('never lets a certificate outlive its issuer', async () => {
    const root = await mintRootCa({ trustDomain: 'example.org', keyType: 'ec-p256', ttlSeconds: 60 });
    const mid = await mintIntermediateCa({ trustDomain: 'example.org', keyType: 'ec-p256', ttlSeconds: 3600, issuer: root });
    assert.equal(mid.notAfter.getTime(), root.notAfter.getTime());
    const svid = await mintX509Svid({
      spiffeId: 'spiffe://example.org/a',
      dnsNames: [],
      keyType: 'ec-p256',
      ttlSeconds: 7200,
      issuer: mid,
    });
    assert.equal(svid.notAfter.getTime(), mid.notAfter.getTime());
    // The valid counterpart: a short SVID keeps its own TTL.
    const short = await mintX509Svid({ spiffeId: 'spiffe://example.org/a', dnsNames: [], keyType: 'ec-p256', ttlSeconds: 5, issuer: mid });
    assert.ok(short.notAfter.getTime() < mid.notAfter.getTime());
  });

  it('stores and loads a CA that still signs verifiable certificates', async () => {
    const root = await mintRootCa({ trustDomain: 'example.org', keyType: 'ec-p256', ttlSeconds: 86400 });
    const stored = storeSigningCert(root);
    assert.match(stored.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    const loaded = await loadSigningCert(JSON.parse(JSON.stringify(stored)));
    assert.equal(loaded.id, root.id);
    assert.equal(loaded.issuedAt.getTime(), root.issuedAt.getTime());
    const mid = await mintIntermediateCa({ trustDomain: 'example.org', keyType: 'ec-p256', ttlSeconds: 3600, issuer: loaded });
    assert.ok(mid.cert.verify(root.cert.publicKey));
  });
});
