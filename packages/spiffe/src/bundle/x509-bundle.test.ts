import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { X509Bundle } from './x509-bundle.js';
import { X509BundleSet } from './x509-bundle-set.js';
import { BundleError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { TestCa, toPem } from '../testing/ca.js';

const td = TrustDomain.fromString('example.org');
const other = TrustDomain.fromString('other.org');
const ca1 = TestCa.create({ trustDomain: td });
const ca2 = TestCa.create({ trustDomain: td, keyAlgorithm: 'ec-p384' });
const caOther = TestCa.create({ trustDomain: other });
const pem = ca1.pem + ca2.pem;

function assertInvalid(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BundleError, `expected a BundleError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_BUNDLE_INVALID');
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

const fps = (b: X509Bundle): string[] => b.authorities().map((c) => c.fingerprint256);

describe('X509Bundle.parse', () => {
  it('reads every CERTIFICATE block, in order, from a string or bytes', () => {
    for (const input of [pem, Buffer.from(pem), new Uint8Array(Buffer.from(pem))]) {
      const bundle = X509Bundle.parse(td, input);
      assert.equal(bundle.trustDomain, td);
      assert.deepEqual(fps(bundle), [ca1.certificate.fingerprint256, ca2.certificate.fingerprint256]);
      assert.equal(bundle.size, 2);
    }
  });

  it('ignores text around the blocks (as openssl writes it) and CRLF line ends', () => {
    const annotated = `subject=${ca1.certificate.subject}\n${ca1.pem}\n# comment\r\n${ca2.pem.replace(/\n/g, '\r\n')}trailing`;
    assert.deepEqual(fps(X509Bundle.parse(td, annotated)), [ca1.certificate.fingerprint256, ca2.certificate.fingerprint256]);
  });

  it('keeps a repeated certificate once', () => {
    assert.equal(X509Bundle.parse(td, ca1.pem + ca1.pem).size, 1);
  });

  const bad: Array<[string, string, string | RegExp]> = [
    ['empty input', '', 'x509bundle: bundle of "example.org": cannot parse PEM: input is empty'],
    ['whitespace only', ' \n\t\n', 'x509bundle: bundle of "example.org": cannot parse PEM: input is empty'],
    ['garbage', 'definitely not PEM', 'x509bundle: bundle of "example.org": cannot parse PEM: no PEM block found'],
    [
      'a private key block',
      ca1.pem + ca1.keyPem,
      'x509bundle: bundle of "example.org": PEM block 2 is a "PRIVATE KEY" block; only CERTIFICATE blocks are expected here',
    ],
    [
      'a block that is not base64',
      '-----BEGIN CERTIFICATE-----\n$$$$\n-----END CERTIFICATE-----\n',
      /block 1 \("CERTIFICATE"\) is not valid base64$/,
    ],
    ['a block with bad base64 padding', '-----BEGIN CERTIFICATE-----\nMIIB=\n-----END CERTIFICATE-----\n', /is not valid base64$/],
    ['an unterminated block', ca1.pem.replace('-----END CERTIFICATE-----', ''), /has no "-----END CERTIFICATE-----" line$/],
    [
      'an encrypted-style block with headers',
      '-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END CERTIFICATE-----\n',
      /has headers/,
    ],
    [
      'a CERTIFICATE block holding something else',
      toPem('CERTIFICATE', Buffer.from('3003020101', 'hex')),
      /certificate 1 cannot be parsed: /,
    ],
    [
      'a CERTIFICATE block with trailing bytes',
      toPem('CERTIFICATE', Buffer.concat([ca1.der, Buffer.from([0x30, 0])])),
      /certificate 1 cannot be parsed: expected one certificate, found 2 DER elements$/,
    ],
  ];
  for (const [name, input, message] of bad) {
    it(`rejects ${name}; the clean bundle parses`, () => {
      assert.equal(X509Bundle.parse(td, ca1.pem).size, 1);
      assertInvalid(() => X509Bundle.parse(td, input), message);
    });
  }

  it('throws TypeError for misuse', () => {
    assert.throws(() => X509Bundle.parse('example.org' as unknown as TrustDomain, pem), TypeError);
    assert.throws(() => X509Bundle.parse(td, 42 as unknown as string), TypeError);
  });
});

describe('X509Bundle.parseRaw', () => {
  it('reads concatenated DER certificates', () => {
    assert.deepEqual(fps(X509Bundle.parseRaw(td, Buffer.concat([ca1.der, ca2.der]))), [
      ca1.certificate.fingerprint256,
      ca2.certificate.fingerprint256,
    ]);
  });
  const bad: Array<[string, Uint8Array, RegExp]> = [
    ['empty input', new Uint8Array(0), /^x509bundle: bundle of "example.org": no certificates \(the DER input is empty\)$/],
    ['PEM text', Buffer.from(ca1.pem), /cannot split the DER certificates: /],
    [
      'a truncated certificate',
      Buffer.concat([ca1.der, ca2.der.subarray(0, 50)]),
      /cannot split the DER certificates: element at offset \d+ runs past the end/,
    ],
    [
      'a SEQUENCE that is not a certificate',
      Buffer.concat([ca1.der, Buffer.from('3003020101', 'hex')]),
      /certificate 2 cannot be parsed: /,
    ],
  ];
  for (const [name, input, message] of bad) {
    it(`rejects ${name}`, () => assertInvalid(() => X509Bundle.parseRaw(td, input), message));
  }
});

describe('X509Bundle: authorities', () => {
  it('adds, finds and removes authorities by their bytes', () => {
    const bundle = X509Bundle.fromAuthorities(td, []);
    assert.equal(bundle.size, 0);
    bundle.addAuthority(ca1.certificate);
    bundle.addAuthority(new X509Certificate(ca1.der)); // the same certificate, another object
    assert.equal(bundle.size, 1);
    assert.equal(bundle.hasAuthority(new X509Certificate(ca1.pem)), true);
    assert.equal(bundle.hasAuthority(ca2.certificate), false);
    assert.equal(bundle.removeAuthority(ca2.certificate), false);
    assert.equal(bundle.removeAuthority(new X509Certificate(ca1.der)), true);
    assert.equal(bundle.hasAuthority(ca1.certificate), false);
    assert.equal(bundle.size, 0);
  });

  it('hands out copies of the authority list', () => {
    const bundle = X509Bundle.fromAuthorities(td, [ca1.certificate]);
    bundle.authorities().pop();
    assert.equal(bundle.size, 1);
  });

  it('compares by trust domain and set of authorities, ignoring order', () => {
    const a = X509Bundle.fromAuthorities(td, [ca1.certificate, ca2.certificate]);
    assert.equal(a.equals(X509Bundle.fromAuthorities(td, [ca2.certificate, ca1.certificate])), true);
    assert.equal(a.equals(X509Bundle.fromAuthorities(td, [ca1.certificate])), false);
    assert.equal(a.equals(X509Bundle.fromAuthorities(td, [ca1.certificate, caOther.certificate])), false);
    assert.equal(a.equals(X509Bundle.fromAuthorities(other, [ca1.certificate, ca2.certificate])), false);
  });

  it('clones independently', () => {
    const a = X509Bundle.fromAuthorities(td, [ca1.certificate]);
    const b = a.clone();
    b.addAuthority(ca2.certificate);
    assert.equal(a.size, 1);
    assert.equal(b.size, 2);
    assert.equal(a.equals(b), false);
  });

  it('marshals to PEM that parses back to an equal bundle', () => {
    const a = X509Bundle.fromAuthorities(td, [ca1.certificate, ca2.certificate]);
    const text = a.marshal();
    assert.match(text, /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n-----BEGIN/);
    assert.ok(X509Bundle.parse(td, text).equals(a));
    assert.equal(X509Bundle.fromAuthorities(td, []).marshal(), '');
  });

  it('answers as a source for its own trust domain only', () => {
    const bundle = ca1.bundle();
    assert.equal(bundle.getX509BundleForTrustDomain(TrustDomain.fromString('EXAMPLE.org')), bundle);
    assert.throws(() => bundle.getX509BundleForTrustDomain(other), {
      name: 'BundleError',
      code: 'ERR_BUNDLE_NOT_FOUND',
      message: 'x509bundle: no X.509 bundle for trust domain "other.org"; this bundle is for "example.org"',
    });
  });

  it('throws TypeError for misuse', () => {
    const bundle = ca1.bundle();
    assert.throws(() => bundle.addAuthority(ca1.pem as unknown as X509Certificate), TypeError);
    assert.throws(() => X509Bundle.fromAuthorities(td, [ca1.der as unknown as X509Certificate]), TypeError);
    assert.throws(() => X509Bundle.fromAuthorities(td, ca1.certificate as unknown as X509Certificate[]), TypeError);
    assert.throws(() => bundle.getX509BundleForTrustDomain('example.org' as unknown as TrustDomain), TypeError);
  });
});

describe('X509BundleSet', () => {
  it('holds one bundle per trust domain; a later one replaces, never merges', () => {
    const first = X509Bundle.fromAuthorities(td, [ca1.certificate]);
    const second = X509Bundle.fromAuthorities(td, [ca2.certificate]);
    const set = new X509BundleSet(first, caOther.bundle());
    assert.equal(set.size, 2);
    set.add(second);
    assert.equal(set.size, 2);
    assert.equal(set.get(td), second);
    assert.deepEqual(fps(set.getX509BundleForTrustDomain(td)), [ca2.certificate.fingerprint256]);
  });

  it('lists bundles sorted by trust domain', () => {
    const set = new X509BundleSet(caOther.bundle(), ca1.bundle(), X509Bundle.fromAuthorities(TrustDomain.fromString('a.org'), []));
    assert.deepEqual(
      set.bundles().map((b) => b.trustDomain.name),
      ['a.org', 'example.org', 'other.org'],
    );
  });

  it('has, gets and removes by trust domain', () => {
    const set = new X509BundleSet(ca1.bundle());
    assert.equal(set.has(td), true);
    assert.equal(set.has(other), false);
    assert.equal(set.get(other), undefined);
    assert.equal(set.remove(other), false);
    assert.equal(set.remove(td), true);
    assert.equal(set.size, 0);
  });

  it('answers for the asked trust domain, or throws ERR_BUNDLE_NOT_FOUND naming it', () => {
    const set = new X509BundleSet(ca1.bundle());
    assert.ok(set.getX509BundleForTrustDomain(td).hasAuthority(ca1.certificate));
    assert.throws(() => set.getX509BundleForTrustDomain(other), {
      name: 'BundleError',
      code: 'ERR_BUNDLE_NOT_FOUND',
      message: 'x509bundle: no X.509 bundle for trust domain "other.org"',
    });
  });

  it('throws TypeError for misuse', () => {
    assert.throws(() => new X509BundleSet({} as X509Bundle), TypeError);
    assert.throws(() => new X509BundleSet().has('example.org' as unknown as TrustDomain), TypeError);
  });
});
