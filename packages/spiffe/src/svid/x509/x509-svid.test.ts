import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { X509Svid } from './x509-svid.js';
import type { X509SvidSource } from './source.js';
import { parseAndVerifyX509Svid } from './verify.js';
import { X509SvidError, type SpiffeErrorCode } from '../../errors.js';
import { TestCa, toPem, type SvidOptions, type TestSvid } from '../../testing/ca.js';

const HOUR = 3600_000;
const ca = TestCa.create({ trustDomain: 'example.org' });
const mid = ca.intermediate();

function assertSvidError(fn: () => unknown, code: SpiffeErrorCode, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof X509SvidError, `expected an X509SvidError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('X509Svid.parse', () => {
  it('parses a chain and its PKCS#8 key', () => {
    const s = mid.svid('/web', { dnsNames: ['web.local'] });
    const svid = X509Svid.parse(s.certPem, s.keyPem, 'internal');
    assert.equal(svid.id.toString(), 'spiffe://example.org/web');
    assert.equal(svid.hint, 'internal');
    assert.deepEqual(
      svid.certificates.map((c) => c.fingerprint256),
      [s.leaf.fingerprint256, mid.certificate.fingerprint256],
    );
    assert.equal(svid.expiresAt.getTime(), new Date(s.leaf.validTo).getTime());
    assert.ok(svid.privateKey.equals(s.privateKey));
  });

  it('accepts Buffers, SEC1 and PKCS#1 keys, and an EC PARAMETERS block before the key', () => {
    const ec = ca.svid('/ec');
    const sec1 = ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';
    assert.equal(X509Svid.parse(Buffer.from(ec.certPem), Buffer.from(params + sec1)).id.toString(), 'spiffe://example.org/ec');
    const rsaCa = TestCa.create({ trustDomain: 'example.org', keyAlgorithm: 'rsa-2048' });
    const rsa = rsaCa.svid('/rsa');
    const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    assert.equal(X509Svid.parse(rsa.certPem, pkcs1).id.toString(), 'spiffe://example.org/rsa');
  });

  it("parses an expired SVID (dates are the verifier's business)", () => {
    const s = ca.svid('/old', { notBefore: new Date(Date.now() - 3 * HOUR), notAfter: new Date(Date.now() - HOUR) });
    assert.ok(X509Svid.parse(s.certPem, s.keyPem).expiresAt.getTime() < Date.now());
  });

  const pemCases: Array<{ name: string; cert: (s: TestSvid) => string; key: (s: TestSvid) => string; message: RegExp }> = [
    { name: 'an empty certificate input', cert: () => '', key: (s) => s.keyPem, message: /^x509svid: cannot parse PEM: input is empty$/ },
    {
      name: 'garbage as certificates',
      cert: () => 'hello world',
      key: (s) => s.keyPem,
      message: /^x509svid: cannot parse PEM: no PEM block found$/,
    },
    {
      name: 'a private key block among the certificates',
      cert: (s) => s.certPem + s.keyPem,
      key: (s) => s.keyPem,
      message: /^x509svid: PEM block 2 is a "PRIVATE KEY" block; only CERTIFICATE blocks are expected here$/,
    },
    {
      name: 'a certificate block that is not base64',
      cert: () => '-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n',
      key: (s) => s.keyPem,
      message: /^x509svid: cannot parse PEM: block 1 \("CERTIFICATE"\) is not valid base64$/,
    },
    {
      name: 'a certificate block that is not a certificate',
      cert: () => toPem('CERTIFICATE', Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])),
      key: (s) => s.keyPem,
      message: /^x509svid: certificate 1 cannot be parsed: /,
    },
    {
      name: 'a certificate block without its END line',
      cert: (s) => s.certPem.slice(0, s.certPem.indexOf('-----END')),
      key: (s) => s.keyPem,
      message: /has no "-----END CERTIFICATE-----" line/,
    },
    {
      name: 'an empty key input',
      cert: (s) => s.certPem,
      key: () => '',
      message: /^x509svid: cannot parse the private key PEM: input is empty$/,
    },
    {
      name: 'a certificate where the key belongs',
      cert: (s) => s.certPem,
      key: (s) => toPem('CERTIFICATE', s.leaf.raw),
      message: /^x509svid: the private key PEM block is a "CERTIFICATE" block; expected "PRIVATE KEY" \(PKCS#8\)$/,
    },
    {
      name: 'two private keys',
      cert: (s) => s.certPem,
      key: (s) => s.keyPem + s.keyPem,
      message: /^x509svid: expected exactly one private key PEM block, found 2$/,
    },
    {
      name: 'an encrypted private key',
      cert: (s) => s.certPem,
      key: (s) => s.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }) as string,
      message: /^x509svid: the private key is encrypted; provide an unencrypted PKCS#8 key$/,
    },
    {
      name: 'a corrupted private key',
      cert: (s) => s.certPem,
      key: (s) => toPem('PRIVATE KEY', s.keyDer.subarray(0, s.keyDer.length - 8)),
      message: /^x509svid: the "PRIVATE KEY" block cannot be parsed as a private key$/,
    },
  ];
  for (const c of pemCases) {
    it(`rejects ${c.name}, accepts the well-formed pair`, () => {
      const s = ca.svid('/pem');
      assert.equal(X509Svid.parse(s.certPem, s.keyPem).id.toString(), 'spiffe://example.org/pem');
      assertSvidError(() => X509Svid.parse(c.cert(s), c.key(s)), 'ERR_X509SVID_INVALID', c.message);
    });
  }

  it('never puts key material in its errors', () => {
    const s = ca.svid('/secret');
    const b64 = s.keyDer.toString('base64');
    const broken = toPem('PRIVATE KEY', Buffer.concat([s.keyDer.subarray(0, 40), Buffer.alloc(40, 0x41)]));
    try {
      X509Svid.parse(s.certPem, broken);
      assert.fail('expected an error');
    } catch (err) {
      const text = `${(err as Error).message} ${String((err as Error).cause)}`;
      assert.ok(!text.includes(b64.slice(8, 40)), 'the error names key bytes');
    }
  });
});

describe('X509Svid: the SVID rules, each defect against its valid counterpart', () => {
  const cases: Array<{
    name: string;
    build: (defective: boolean) => { s: TestSvid; key?: TestSvid['privateKey'] };
    code: SpiffeErrorCode;
    message: string | RegExp;
  }> = [
    {
      name: 'a CA leaf',
      build: (d) => ({ s: ca.svid('/w', { isCa: d }) }),
      code: 'ERR_X509SVID_INVALID',
      message: 'x509svid: leaf certificate must not be a CA (basic constraints cA=true)',
    },
    {
      name: 'keyCertSign on the leaf',
      build: (d) => ({ s: ca.svid('/w', { keyUsage: d ? ['digitalSignature', 'keyCertSign'] : ['digitalSignature'] }) }),
      code: 'ERR_X509SVID_INVALID',
      message: 'x509svid: leaf certificate must not have the keyCertSign key usage',
    },
    {
      name: 'cRLSign on the leaf',
      build: (d) => ({ s: ca.svid('/w', { keyUsage: d ? ['digitalSignature', 'cRLSign'] : ['digitalSignature'] }) }),
      code: 'ERR_X509SVID_INVALID',
      message: 'x509svid: leaf certificate must not have the cRLSign key usage',
    },
    {
      name: 'a leaf without digitalSignature',
      build: (d) => ({ s: ca.svid('/w', { keyUsage: d ? ['keyAgreement'] : ['digitalSignature', 'keyAgreement'] }) }),
      code: 'ERR_X509SVID_INVALID',
      message: 'x509svid: leaf certificate must have the digitalSignature key usage',
    },
    {
      name: 'no URI SAN',
      build: (d) => ({ s: ca.svid('/w', d ? { uris: [] } : {}) }),
      code: 'ERR_X509SVID_INVALID',
      message: /^x509svid: leaf certificate has no URI SAN/,
    },
    {
      name: 'two URI SANs',
      build: (d) => ({ s: ca.svid('/w', d ? { uris: ['spiffe://example.org/w', 'spiffe://example.org/w2'] } : {}) }),
      code: 'ERR_X509SVID_INVALID',
      message: /^x509svid: leaf certificate has 2 URI SANs/,
    },
    {
      name: 'a non-spiffe URI',
      build: (d) => ({ s: ca.svid(d ? 'urn:example:w' : '/w') }),
      code: 'ERR_X509SVID_INVALID',
      message: /^x509svid: leaf certificate URI SAN is not a valid SPIFFE ID: /,
    },
    { name: 'the trust domain ID', build: (d) => ({ s: ca.svid(d ? '' : '/w') }), code: 'ERR_X509SVID_INVALID', message: /has no path/ },
    {
      name: 'an intermediate that is not a CA',
      build: (d) => ({ s: ca.intermediate({ isCa: !d }).svid('/w') }),
      code: 'ERR_X509SVID_INVALID',
      message: 'x509svid: signing certificate 2 must be a CA (basic constraints cA=true)',
    },
    {
      name: 'an intermediate without keyCertSign',
      build: (d) => ({ s: ca.intermediate({ keyUsage: d ? ['cRLSign'] : ['keyCertSign'] }).svid('/w') }),
      code: 'ERR_X509SVID_INVALID',
      message: 'x509svid: signing certificate 2 must have the keyCertSign key usage',
    },
    {
      name: "a key that is not the leaf's",
      build: (d) => {
        const s = ca.svid('/w');
        return { s, key: d ? ca.svid('/w').privateKey : s.privateKey };
      },
      code: 'ERR_X509SVID_KEY_MISMATCH',
      message: "x509svid: the private key does not match the leaf certificate's public key; pair each certificate with its own key",
    },
    {
      name: 'a key of another algorithm',
      build: (d) => {
        const s = ca.svid('/w');
        return { s, key: d ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey : s.privateKey };
      },
      code: 'ERR_X509SVID_KEY_MISMATCH',
      message: /does not match the leaf certificate's public key/,
    },
    {
      name: "the CA's key instead of the leaf's",
      build: (d) => {
        const s = ca.svid('/w');
        return { s, key: d ? ca.privateKey : s.privateKey };
      },
      code: 'ERR_X509SVID_KEY_MISMATCH',
      message: /does not match/,
    },
  ];
  for (const c of cases) {
    it(`accepts the counterpart of ${c.name}`, () => {
      const { s, key } = c.build(false);
      const keyPem = (key ?? s.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
      assert.equal(X509Svid.parse(s.certPem, keyPem).id.toString(), 'spiffe://example.org/w');
      assert.equal(X509Svid.fromCertificates(s.certificates, key ?? s.privateKey).id.toString(), 'spiffe://example.org/w');
    });
    it(`rejects ${c.name} (parse, parseRaw and fromCertificates)`, () => {
      const { s, key } = c.build(true);
      const k = key ?? s.privateKey;
      assertSvidError(() => X509Svid.parse(s.certPem, k.export({ type: 'pkcs8', format: 'pem' })), c.code, c.message);
      assertSvidError(() => X509Svid.parseRaw(s.chainDer, k.export({ type: 'pkcs8', format: 'der' })), c.code, c.message);
      assertSvidError(() => X509Svid.fromCertificates(s.certificates, k), c.code, c.message);
    });
  }
});

describe('X509Svid.parseRaw', () => {
  const s = mid.svid('/raw');
  it('parses concatenated DER, as the Workload API sends it', () => {
    const svid = X509Svid.parseRaw(Buffer.concat(s.chainDer), s.keyDer, 'h');
    assert.equal(svid.id.toString(), 'spiffe://example.org/raw');
    assert.equal(svid.certificates.length, 2);
    assert.equal(svid.hint, 'h');
  });

  it('parses one DER entry per certificate', () => {
    assert.equal(X509Svid.parseRaw(s.chainDer, s.keyDer).certificates.length, 2);
  });

  const bad: Array<[string, () => unknown, RegExp]> = [
    ['empty DER', () => X509Svid.parseRaw(new Uint8Array(0), s.keyDer), /^x509svid: no certificates \(the DER input is empty\)$/],
    [
      'truncated DER',
      () => X509Svid.parseRaw(Buffer.concat(s.chainDer).subarray(0, 100), s.keyDer),
      /^x509svid: cannot split the DER certificates: /,
    ],
    ['a non-SEQUENCE element', () => X509Svid.parseRaw(Buffer.from([0x04, 0x01, 0x00]), s.keyDer), /expected a SEQUENCE at offset 0/],
    ['an empty array', () => X509Svid.parseRaw([], s.keyDer), /^x509svid: no certificates; /],
    [
      'a key that is not PKCS#8 DER',
      () => X509Svid.parseRaw(s.chainDer, Buffer.from('nope')),
      /^x509svid: the private key cannot be parsed as unencrypted PKCS#8 DER$/,
    ],
    [
      'a SEC1 key where PKCS#8 is required',
      () => X509Svid.parseRaw(s.chainDer, s.privateKey.export({ type: 'sec1', format: 'der' })),
      /PKCS#8/,
    ],
  ];
  for (const [name, fn, message] of bad) {
    it(`rejects ${name}`, () => assertSvidError(fn, 'ERR_X509SVID_INVALID', message));
  }
});

describe('X509Svid: round trip, source and misuse', () => {
  it('marshals to PEM that parses back to the same SVID', () => {
    const s = mid.svid('/round', { subject: {} } satisfies SvidOptions);
    const svid = X509Svid.parseRaw(s.chainDer, s.keyDer, 'hint');
    const { certificates, privateKey } = svid.marshal();
    assert.match(privateKey, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal((certificates.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
    const again = X509Svid.parse(certificates, privateKey, 'hint');
    assert.ok(again.id.equals(svid.id));
    assert.deepEqual(again.rawCertificates(), svid.rawCertificates());
    assert.ok(again.privateKey.equals(svid.privateKey));
    assert.equal(new X509Certificate(again.rawCertificates()[0]!).fingerprint256, s.leaf.fingerprint256);
  });

  it('is its own X509SvidSource', () => {
    const s = ca.svid('/static');
    const source: X509SvidSource = X509Svid.parse(s.certPem, s.keyPem);
    assert.equal(source.getX509Svid(), source);
  });

  it('hands its chain to a peer that verifies it against the issuing bundle only', () => {
    const peer = mid.svid('/peer');
    const svid = X509Svid.parse(peer.certPem, peer.keyPem);
    assert.equal(parseAndVerifyX509Svid(svid.rawCertificates(), ca.bundle()).id.toString(), 'spiffe://example.org/peer');
    const stranger = TestCa.create({ trustDomain: 'example.org' });
    assert.throws(() => parseAndVerifyX509Svid(svid.rawCertificates(), stranger.bundle()), { code: 'ERR_X509SVID_UNTRUSTED' });
  });

  it('serialises to JSON without the key', () => {
    const s = ca.svid('/json');
    const json = JSON.stringify(X509Svid.parse(s.certPem, s.keyPem, 'h'));
    assert.deepEqual(Object.keys(JSON.parse(json)), ['id', 'hint', 'expiresAt']);
    assert.ok(!json.includes('PRIVATE'));
  });

  const s = ca.svid('/misuse');
  const misuse: Array<[string, () => unknown]> = [
    ['a hint that is not a string', () => X509Svid.parse(s.certPem, s.keyPem, 5 as unknown as string)],
    [
      'certificates that are not X509Certificate objects',
      () => X509Svid.fromCertificates([s.certPem as unknown as X509Certificate], s.privateKey),
    ],
    ['a public key', () => X509Svid.fromCertificates(s.certificates, s.leaf.publicKey)],
    ['a number as PEM', () => X509Svid.parse(1 as unknown as string, s.keyPem)],
    ['a string as DER key', () => X509Svid.parseRaw(s.chainDer, 'key' as unknown as Uint8Array)],
  ];
  for (const [name, fn] of misuse) {
    it(`throws TypeError for ${name}`, () => assert.throws(fn, TypeError));
  }
});
