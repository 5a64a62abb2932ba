import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { parseAndVerifyX509Svid } from './verify.js';
import { X509SvidError, type SpiffeErrorCode } from '../../errors.js';
import { TrustDomain } from '../../spiffeid/index.js';
import { X509Bundle } from '../../bundle/x509-bundle.js';
import { X509BundleSet } from '../../bundle/x509-bundle-set.js';
import type { X509BundleSource } from '../../bundle/source.js';
import { TestCa, type TestSvid } from '../../testing/ca.js';
import * as der from '@spiffe-node/test-kit/der';

const HOUR = 3600_000;
const now = Date.now();
const tdA = TrustDomain.fromString('example.org');
const tdB = TrustDomain.fromString('other.org');
const caA = TestCa.create({ trustDomain: tdA });
const caB = TestCa.create({ trustDomain: tdB });
// Another CA claiming the same trust domain, with the very same subject name as caA.
const impostor = TestCa.create({ trustDomain: 'example.org' });
const midA = caA.intermediate();
const midA2 = midA.intermediate();
const bundles = new X509BundleSet(caA.bundle(), caB.bundle());

interface Input {
  chain: Uint8Array[];
  source?: X509BundleSource;
  time?: Date;
}

interface DefectCase {
  name: string;
  /** Builds the input, with the defect when `defective` is true and without it otherwise. */
  build: (defective: boolean) => Input;
  /** The ID the valid counterpart verifies as. */
  id?: string;
  code: SpiffeErrorCode;
  message: string | RegExp;
}

const ku = {
  leaf: ['digitalSignature', 'keyEncipherment'] as const,
};

function chain(svid: TestSvid): Uint8Array[] {
  return svid.chainDer;
}

const cases: DefectCase[] = [
  {
    name: 'a CA leaf',
    build: (d) => ({ chain: chain(caA.svid('/w', { isCa: d })) }),
    code: 'ERR_X509SVID_INVALID',
    message: 'x509svid: leaf certificate must not be a CA (basic constraints cA=true)',
  },
  {
    name: 'keyCertSign on the leaf',
    build: (d) => ({ chain: chain(caA.svid('/w', { keyUsage: d ? [...ku.leaf, 'keyCertSign'] : [...ku.leaf] })) }),
    code: 'ERR_X509SVID_INVALID',
    message: 'x509svid: leaf certificate must not have the keyCertSign key usage',
  },
  {
    name: 'cRLSign on the leaf',
    build: (d) => ({ chain: chain(caA.svid('/w', { keyUsage: d ? [...ku.leaf, 'cRLSign'] : [...ku.leaf] })) }),
    code: 'ERR_X509SVID_INVALID',
    message: 'x509svid: leaf certificate must not have the cRLSign key usage',
  },
  {
    name: 'a leaf without digitalSignature',
    build: (d) => ({
      chain: chain(caA.svid('/w', { keyUsage: d ? ['keyEncipherment', 'keyAgreement'] : ['digitalSignature'] })),
    }),
    code: 'ERR_X509SVID_INVALID',
    message: 'x509svid: leaf certificate must have the digitalSignature key usage',
  },
  {
    name: 'a leaf without a key usage extension',
    build: (d) => ({ chain: chain(caA.svid('/w', { keyUsage: d ? null : ['digitalSignature'] })) }),
    code: 'ERR_X509SVID_INVALID',
    message: 'x509svid: leaf certificate must have the digitalSignature key usage (it has no key usage extension)',
  },
  {
    name: 'a leaf without a URI SAN',
    build: (d) => ({ chain: chain(caA.svid('/w', d ? { uris: [] } : {})) }),
    code: 'ERR_X509SVID_INVALID',
    message: /^x509svid: leaf certificate has no URI SAN/,
  },
  {
    name: 'a leaf with two URI SANs',
    build: (d) => ({
      chain: chain(caA.svid('/w', { uris: d ? ['spiffe://example.org/w', 'spiffe://example.org/x'] : ['spiffe://example.org/w'] })),
    }),
    code: 'ERR_X509SVID_INVALID',
    message: /^x509svid: leaf certificate has 2 URI SANs; an X509-SVID must have exactly one/,
  },
  {
    name: 'a non-spiffe URI SAN',
    build: (d) => ({ chain: chain(caA.svid(d ? 'https://example.org/w' : 'spiffe://example.org/w')) }),
    code: 'ERR_X509SVID_INVALID',
    message: /^x509svid: leaf certificate URI SAN is not a valid SPIFFE ID: spiffeid: "https:\/\/example.org\/w" has the scheme "https"/,
  },
  {
    name: 'a URI SAN that breaks the SPIFFE ID rules',
    build: (d) => ({ chain: chain(caA.svid(d ? 'spiffe://example.org/a//b' : 'spiffe://example.org/a/b')) }),
    id: 'spiffe://example.org/a/b',
    code: 'ERR_X509SVID_INVALID',
    message: /^x509svid: leaf certificate URI SAN is not a valid SPIFFE ID: spiffeid: path .* empty segment/,
  },
  {
    name: 'the trust domain ID (no path)',
    build: (d) => ({ chain: chain(caA.svid(d ? '' : '/w')) }),
    code: 'ERR_X509SVID_INVALID',
    message: /^x509svid: leaf certificate SPIFFE ID "spiffe:\/\/example.org" has no path/,
  },
  {
    name: 'an expired leaf',
    build: (d) => ({
      chain: chain(caA.svid('/w', d ? { notBefore: new Date(now - 2 * HOUR), notAfter: new Date(now - HOUR) } : {})),
    }),
    code: 'ERR_X509SVID_EXPIRED',
    message: /^x509svid: leaf certificate expired at /,
  },
  {
    name: 'a leaf checked after its notAfter (options.time)',
    build: (d) => ({ chain: chain(caA.svid('/w')), time: new Date(now + (d ? 2 * HOUR : 10 * 60_000)) }),
    code: 'ERR_X509SVID_EXPIRED',
    message: /^x509svid: leaf certificate expired at .* \(checked at /,
  },
  {
    name: 'a leaf that is not yet valid',
    build: (d) => ({ chain: chain(caA.svid('/w', d ? { notBefore: new Date(now + HOUR), notAfter: new Date(now + 2 * HOUR) } : {})) }),
    code: 'ERR_X509SVID_NOT_YET_VALID',
    message: /^x509svid: leaf certificate is not valid before /,
  },
  {
    name: 'an untrusted CA with the same trust domain name and subject',
    build: (d) => ({ chain: chain((d ? impostor : caA).svid('/w')) }),
    code: 'ERR_X509SVID_UNTRUSTED',
    message: 'x509svid: could not verify leaf certificate: no trusted authority in the bundle of "example.org"',
  },
  {
    name: 'a leaf signed with another key than its issuer claims',
    build: (d) => ({
      chain: chain(caA.svid('/w', d ? { signingKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey } : {})),
    }),
    code: 'ERR_X509SVID_UNTRUSTED',
    message: 'x509svid: could not verify leaf certificate: no trusted authority in the bundle of "example.org"',
  },
  {
    name: "a leaf of trust domain B signed by A's CA, both bundles present",
    build: (d) => ({ chain: chain((d ? caA : caB).svid('spiffe://other.org/w')) }),
    id: 'spiffe://other.org/w',
    code: 'ERR_X509SVID_UNTRUSTED',
    message: 'x509svid: could not verify leaf certificate: no trusted authority in the bundle of "other.org"',
  },
  {
    name: 'a leaf of trust domain B through an intermediate of A, both bundles present',
    build: (d) => ({ chain: chain((d ? midA : caB.intermediate()).svid('spiffe://other.org/w')) }),
    id: 'spiffe://other.org/w',
    code: 'ERR_X509SVID_UNTRUSTED',
    message: 'x509svid: could not verify leaf certificate: no trusted authority in the bundle of "other.org"',
  },
  {
    name: 'a leaf whose trust domain has no bundle in the source',
    build: (d) => ({
      chain: chain((d ? caA : caB).svid('spiffe://other.org/w')),
      source: d ? new X509BundleSet(caA.bundle()) : new X509BundleSet(caA.bundle(), caB.bundle()),
    }),
    id: 'spiffe://other.org/w',
    code: 'ERR_X509SVID_UNTRUSTED',
    message: /^x509svid: could not verify leaf certificate: no X\.509 bundle for trust domain "other.org"/,
  },
  {
    name: 'an intermediate that is not a CA',
    build: (d) => ({ chain: chain(caA.intermediate({ isCa: !d }).svid('/w')) }),
    code: 'ERR_X509SVID_INVALID',
    message: 'x509svid: signing certificate 2 must be a CA (basic constraints cA=true)',
  },
  {
    name: 'an intermediate without basic constraints',
    build: (d) => ({ chain: chain(caA.intermediate({ basicConstraints: !d }).svid('/w')) }),
    code: 'ERR_X509SVID_INVALID',
    message: 'x509svid: signing certificate 2 must be a CA (it has no basic constraints extension)',
  },
  {
    name: 'an intermediate without keyCertSign',
    build: (d) => ({
      chain: chain(caA.intermediate({ keyUsage: d ? ['digitalSignature', 'cRLSign'] : ['keyCertSign'] }).svid('/w')),
    }),
    code: 'ERR_X509SVID_INVALID',
    message: 'x509svid: signing certificate 2 must have the keyCertSign key usage',
  },
  {
    name: 'an expired intermediate',
    build: (d) => ({
      chain: chain(caA.intermediate(d ? { notBefore: new Date(now - 48 * HOUR), notAfter: new Date(now - 24 * HOUR) } : {}).svid('/w')),
    }),
    code: 'ERR_X509SVID_EXPIRED',
    message: /^x509svid: signing certificate 2 expired at /,
  },
  {
    name: 'a chain missing its intermediate',
    build: (d) => ({ chain: d ? [midA2.svid('/w').chainDer[0]!] : midA2.svid('/w').chainDer }),
    code: 'ERR_X509SVID_UNTRUSTED',
    message: 'x509svid: could not verify leaf certificate: no trusted authority in the bundle of "example.org"',
  },
  {
    name: 'a chain whose first certificate is not the leaf',
    build: (d) => {
      const [leaf, m2, m1] = midA2.svid('/w').chainDer as [Uint8Array, Uint8Array, Uint8Array];
      return { chain: d ? [m2, leaf, m1] : [leaf, m1, m2] };
    },
    code: 'ERR_X509SVID_INVALID',
    message: /^x509svid: leaf certificate SPIFFE ID "spiffe:\/\/example.org" has no path/,
  },
  {
    name: 'an expired bundle authority',
    build: (d) => {
      const root = TestCa.create({
        trustDomain: 'example.org',
        ...(d ? { notBefore: new Date(now - 48 * HOUR), notAfter: new Date(now - HOUR) } : {}),
      });
      return { chain: chain(root.svid('/w')), source: root.bundle() };
    },
    code: 'ERR_X509SVID_EXPIRED',
    message: /^x509svid: could not verify leaf certificate: bundle authority ".*example.org root CA" of "example.org" expired at /,
  },
  {
    name: 'a bundle authority that is not a CA',
    build: (d) => {
      const root = TestCa.create({ trustDomain: 'example.org', isCa: !d });
      return { chain: chain(root.svid('/w')), source: root.bundle() };
    },
    code: 'ERR_X509SVID_UNTRUSTED',
    message:
      /^x509svid: could not verify leaf certificate: bundle authority ".*" of "example.org" must be a CA \(basic constraints cA=true\)$/,
  },
  {
    name: 'a bundle authority without keyCertSign',
    build: (d) => {
      const root = TestCa.create({ trustDomain: 'example.org', keyUsage: d ? ['digitalSignature'] : ['keyCertSign'] });
      return { chain: chain(root.svid('/w')), source: root.bundle() };
    },
    code: 'ERR_X509SVID_UNTRUSTED',
    message: /bundle authority ".*" of "example.org" must have the keyCertSign key usage$/,
  },
  {
    name: 'a path length constraint that the chain exceeds',
    build: (d) => {
      const root = TestCa.create({ trustDomain: 'example.org', pathLen: d ? 0 : 1 });
      return { chain: chain(root.intermediate().svid('/w')), source: root.bundle() };
    },
    code: 'ERR_X509SVID_UNTRUSTED',
    message:
      /bundle authority ".*" of "example.org" allows 0 intermediate certificate\(s\) below it \(pathLenConstraint\) but the chain has 1$/,
  },
  {
    name: 'an intermediate path length constraint that the chain exceeds',
    build: (d) => ({
      chain: chain(
        caA
          .intermediate({ pathLen: d ? 0 : 1 })
          .intermediate()
          .svid('/w'),
      ),
    }),
    code: 'ERR_X509SVID_UNTRUSTED',
    message: /signing certificate ".*intermediate CA.*" allows 0 intermediate certificate\(s\) below it/,
  },
  {
    name: 'an unknown critical extension on the leaf',
    build: (d) => ({
      chain: chain(caA.svid('/w', { extraExtensions: [{ oid: '1.3.6.1.4.1.99999.1', critical: d, value: der.nullValue() }] })),
    }),
    code: 'ERR_X509SVID_INVALID',
    message: /^x509svid: leaf certificate has the critical extension 1\.3\.6\.1\.4\.1\.99999\.1, which this library does not process/,
  },
  {
    name: 'an unknown critical extension on an intermediate',
    build: (d) => ({
      chain: chain(caA.intermediate({ extraExtensions: [{ oid: '1.3.6.1.4.1.99999.2', critical: d, value: der.sequence() }] }).svid('/w')),
    }),
    code: 'ERR_X509SVID_INVALID',
    message: /^x509svid: signing certificate 2 has the critical extension 1\.3\.6\.1\.4\.1\.99999\.2, which this library does not process/,
  },
  {
    name: 'a leaf that is not DER',
    build: (d) => ({ chain: d ? [Buffer.from('not a certificate')] : chain(caA.svid('/w')) }),
    code: 'ERR_X509SVID_INVALID',
    message: /^x509svid: leaf certificate cannot be parsed: /,
  },
  {
    name: 'a leaf with trailing bytes after its DER',
    build: (d) => {
      const [leaf] = caA.svid('/w').chainDer as [Uint8Array];
      return { chain: [d ? Buffer.concat([leaf, Buffer.from([0])]) : leaf] };
    },
    code: 'ERR_X509SVID_INVALID',
    message: /^x509svid: leaf certificate cannot be parsed: /,
  },
  {
    name: 'no certificates at all',
    build: (d) => ({ chain: d ? [] : chain(caA.svid('/w')) }),
    code: 'ERR_X509SVID_INVALID',
    message: 'x509svid: no certificates were presented; an X509-SVID needs at least its leaf certificate',
  },
  {
    name: "a bundle source that answers with another trust domain's bundle",
    build: (d) => ({
      chain: chain(caA.svid('/w')),
      source: { getX509BundleForTrustDomain: () => (d ? X509Bundle.fromAuthorities(tdB, [caA.certificate]) : caA.bundle()) },
    }),
    code: 'ERR_X509SVID_UNTRUSTED',
    message: 'x509svid: could not verify leaf certificate: the bundle source returned the bundle of "other.org" for "example.org"',
  },
  {
    name: 'an RSA chain signed by the wrong key',
    build: (d) => {
      const rsa = TestCa.create({ trustDomain: 'example.org', keyAlgorithm: 'rsa-2048' });
      const wrong = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      return { chain: chain(rsa.svid('/w', d ? { signingKey: wrong } : {})), source: rsa.bundle() };
    },
    code: 'ERR_X509SVID_UNTRUSTED',
    message: 'x509svid: could not verify leaf certificate: no trusted authority in the bundle of "example.org"',
  },
  {
    name: 'a P-384 intermediate whose leaf names another issuer',
    build: (d) => {
      const mid = caA.intermediate({ keyAlgorithm: 'ec-p384' });
      const other = caA.intermediate({ keyAlgorithm: 'ec-p384' });
      const svid = mid.svid('/w');
      return { chain: [svid.chainDer[0]!, (d ? other : mid).der] };
    },
    code: 'ERR_X509SVID_UNTRUSTED',
    message: 'x509svid: could not verify leaf certificate: no trusted authority in the bundle of "example.org"',
  },
  {
    name: 'DNS SANs beside the URI SAN (allowed), against DNS SANs alone',
    build: (d) => ({ chain: chain(caA.svid('/w', { dnsNames: ['w.example.org', 'localhost'], ...(d ? { uris: [] } : {}) })) }),
    code: 'ERR_X509SVID_INVALID',
    message: /^x509svid: leaf certificate has no URI SAN/,
  },
  {
    name: 'an empty subject (allowed), against an empty subject without URI SAN',
    build: (d) => ({ chain: chain(caA.svid('/w', { subject: {}, ...(d ? { uris: [] } : {}) })) }),
    code: 'ERR_X509SVID_INVALID',
    message: /^x509svid: leaf certificate has no URI SAN/,
  },
  {
    name: 'a mixed-case trust domain in the URI SAN (normalised), against a mixed-case ID of an untrusted CA',
    build: (d) => ({ chain: chain((d ? impostor : caA).svid('SPIFFE://Example.ORG/w')) }),
    code: 'ERR_X509SVID_UNTRUSTED',
    message: 'x509svid: could not verify leaf certificate: no trusted authority in the bundle of "example.org"',
  },
  {
    name: 'a non-self-signed CA as the bundle authority, against a bundle without it',
    build: (d) => ({
      chain: chain(midA.svid('/w')),
      source: X509Bundle.fromAuthorities(tdA, d ? [midA2.certificate] : [midA.certificate]),
    }),
    code: 'ERR_X509SVID_UNTRUSTED',
    message: 'x509svid: could not verify leaf certificate: no trusted authority in the bundle of "example.org"',
  },
  {
    name: 'a chain that presents its root too, against one that presents only a foreign root',
    build: (d) => {
      const [leaf, mid] = midA.svid('/w').chainDer as [Uint8Array, Uint8Array];
      return { chain: d ? [leaf, caB.der] : [leaf, mid, caA.der] };
    },
    code: 'ERR_X509SVID_UNTRUSTED',
    message: 'x509svid: could not verify leaf certificate: no trusted authority in the bundle of "example.org"',
  },
];

function fingerprints(chains: X509Certificate[][]): string[][] {
  return chains.map((c) => c.map((cert) => cert.fingerprint256));
}

describe('parseAndVerifyX509Svid: each defect rejected, its valid counterpart accepted', () => {
  for (const c of cases) {
    it(`accepts the counterpart of: ${c.name}`, () => {
      const input = c.build(false);
      const result = parseAndVerifyX509Svid(input.chain, input.source ?? bundles, input.time ? { time: input.time } : {});
      assert.equal(result.id.toString(), c.id ?? 'spiffe://example.org/w');
      assert.ok(result.verifiedChains.length >= 1);
      for (const verified of result.verifiedChains) {
        assert.equal(verified[0]!.fingerprint256, new X509Certificate(input.chain[0]!).fingerprint256);
      }
    });
    it(`rejects ${c.name}`, () => {
      const input = c.build(true);
      assert.throws(
        () => parseAndVerifyX509Svid(input.chain, input.source ?? bundles, input.time ? { time: input.time } : {}),
        (err: unknown) => {
          assert.ok(err instanceof X509SvidError, `expected an X509SvidError, got ${String(err)}`);
          assert.equal(err.code, c.code, err.message);
          if (typeof c.message === 'string') assert.equal(err.message, c.message);
          else assert.match(err.message, c.message);
          return true;
        },
      );
    });
  }
});

describe('parseAndVerifyX509Svid: chains', () => {
  it('returns the verified chain leaf first and the bundle authority last', () => {
    const svid = midA2.svid('/w');
    const { id, verifiedChains } = parseAndVerifyX509Svid(svid.chainDer, bundles);
    assert.equal(id.toString(), 'spiffe://example.org/w');
    assert.deepEqual(fingerprints(verifiedChains), [
      [svid.leaf.fingerprint256, midA2.certificate.fingerprint256, midA.certificate.fingerprint256, caA.certificate.fingerprint256],
    ]);
  });

  it('builds the chain from intermediates presented out of order', () => {
    const [leaf, m2, m1] = midA2.svid('/w').chainDer as [Uint8Array, Uint8Array, Uint8Array];
    const inOrder = parseAndVerifyX509Svid([leaf, m2, m1], bundles);
    const shuffled = parseAndVerifyX509Svid([leaf, m1, m2], bundles);
    assert.deepEqual(fingerprints(shuffled.verifiedChains), fingerprints(inOrder.verifiedChains));
  });

  it('ignores a duplicated intermediate and a presented root that the bundle already holds', () => {
    const svid = midA.svid('/w', { includeRoot: true });
    const [leaf, mid, root] = svid.chainDer as [Uint8Array, Uint8Array, Uint8Array];
    const { verifiedChains } = parseAndVerifyX509Svid([leaf, mid, mid, root], bundles);
    assert.deepEqual(fingerprints(verifiedChains), [
      [svid.leaf.fingerprint256, midA.certificate.fingerprint256, caA.certificate.fingerprint256],
    ]);
  });

  it('prefers a presented intermediate that is itself a bundle authority', () => {
    const svid = midA.svid('/w');
    const { verifiedChains } = parseAndVerifyX509Svid(svid.chainDer, X509Bundle.fromAuthorities(tdA, [caA.certificate, midA.certificate]));
    assert.deepEqual(fingerprints(verifiedChains), [[svid.leaf.fingerprint256, midA.certificate.fingerprint256]]);
  });

  it('returns one chain per path to the bundle (cross-signed intermediate)', () => {
    const subject = { commonName: 'cross-signed intermediate' };
    const rootX = TestCa.create({ trustDomain: 'example.org', subject: { commonName: 'root X' } });
    const rootY = TestCa.create({ trustDomain: 'example.org', subject: { commonName: 'root Y' } });
    const keyPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const viaX = rootX.intermediate({ subject, keyPair });
    const viaY = rootY.intermediate({ subject, keyPair });
    const leaf = viaX.svid('/w').chainDer[0]!;
    const bundle = X509Bundle.fromAuthorities(tdA, [rootX.certificate, rootY.certificate]);
    const { verifiedChains } = parseAndVerifyX509Svid([leaf, viaX.der, viaY.der], bundle);
    assert.deepEqual(
      verifiedChains.map((c) => c.map((cert) => cert.subject)),
      [
        ['', 'CN=cross-signed intermediate', 'CN=root X'],
        ['', 'CN=cross-signed intermediate', 'CN=root Y'],
      ].map((c) => c.map((s, i) => (i === 0 ? 'C=US\nO=SPIFFE test' : s))),
    );
    // With only one root trusted, only its path remains.
    const onlyY = parseAndVerifyX509Svid([leaf, viaX.der, viaY.der], X509Bundle.fromAuthorities(tdA, [rootY.certificate]));
    assert.deepEqual(
      onlyY.verifiedChains.map((c) => c[2]!.subject),
      ['CN=root Y'],
    );
  });

  it('verifies RSA and P-384 hierarchies', () => {
    for (const keyAlgorithm of ['rsa-2048', 'ec-p384'] as const) {
      const root = TestCa.create({ trustDomain: 'example.org', keyAlgorithm });
      const svid = root.intermediate().svid('/w');
      assert.equal(parseAndVerifyX509Svid(svid.chainDer, root.bundle()).id.toString(), 'spiffe://example.org/w');
      assert.throws(() => parseAndVerifyX509Svid(svid.chainDer, caA.bundle()), { code: 'ERR_X509SVID_UNTRUSTED' });
    }
  });

  it('keeps the path case and lowercases the trust domain of the URI SAN', () => {
    const { id } = parseAndVerifyX509Svid(caA.svid('spiffe://EXAMPLE.org/Web/API').chainDer, bundles);
    assert.equal(id.toString(), 'spiffe://example.org/Web/API');
    assert.equal(id.trustDomain.name, 'example.org');
  });
});

describe('parseAndVerifyX509Svid: bounded chain search', () => {
  // Certificates sharing one name and key all "issue" each other: without a budget the search
  // would try every ordering of them.
  const keyPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const clones = Array.from({ length: 14 }, () => TestCa.create({ trustDomain: 'example.org', subject: { commonName: 'loop' }, keyPair }));
  const leaf = clones[0]!.svid('/w').chainDer[0]!;

  it('gives up after a bounded number of issuer checks', () => {
    const start = Date.now();
    assert.throws(() => parseAndVerifyX509Svid([leaf, ...clones.map((c) => c.der)], caA.bundle()), {
      code: 'ERR_X509SVID_UNTRUSTED',
      message: /building the chain took more than 100 issuer checks/,
    });
    assert.ok(Date.now() - start < 5000);
  });

  it('still finds the chain when one of the clones is trusted', () => {
    const { verifiedChains } = parseAndVerifyX509Svid([leaf, ...clones.map((c) => c.der)], clones[5]!.bundle());
    assert.ok(verifiedChains.length >= 1);
    assert.equal(verifiedChains[0]!.at(-1)!.fingerprint256, clones[5]!.certificate.fingerprint256);
  });

  it('does not count bundle authorities whose name does not match', () => {
    const many = X509Bundle.fromAuthorities(tdA, [
      ...Array.from(
        { length: 120 },
        (_, i) => TestCa.create({ trustDomain: 'example.org', subject: { commonName: `other ${i}` } }).certificate,
      ),
      caA.certificate,
    ]);
    assert.equal(parseAndVerifyX509Svid(caA.svid('/w').chainDer, many).id.toString(), 'spiffe://example.org/w');
  });
});

describe('parseAndVerifyX509Svid: caching never outlives the bundle', () => {
  it('rejects a chain it accepted once the authority leaves the bundle', () => {
    const bundle = caA.bundle();
    const svid = midA.svid('/cache');
    assert.equal(parseAndVerifyX509Svid(svid.chainDer, bundle).id.toString(), 'spiffe://example.org/cache');
    bundle.removeAuthority(caA.certificate);
    assert.throws(() => parseAndVerifyX509Svid(svid.chainDer, bundle), {
      code: 'ERR_X509SVID_UNTRUSTED',
      message: 'x509svid: could not verify leaf certificate: no trusted authority in the bundle of "example.org"',
    });
    bundle.addAuthority(caA.certificate);
    assert.equal(parseAndVerifyX509Svid(svid.chainDer, bundle).id.toString(), 'spiffe://example.org/cache');
  });

  it('checks the validity period on every call, even for cached certificates', () => {
    const svid = caA.svid('/time');
    assert.ok(parseAndVerifyX509Svid(svid.chainDer, bundles, { time: new Date(now) }));
    assert.throws(() => parseAndVerifyX509Svid(svid.chainDer, bundles, { time: new Date(now + 2 * HOUR) }), {
      code: 'ERR_X509SVID_EXPIRED',
    });
  });

  it('verifies a cached chain quickly (hot path)', () => {
    const svid = midA.svid('/hot');
    parseAndVerifyX509Svid(svid.chainDer, bundles);
    const copies = svid.chainDer.map((d) => Uint8Array.from(d)); // new buffers, same bytes
    const start = process.hrtime.bigint();
    for (let i = 0; i < 2000; i++) parseAndVerifyX509Svid(copies, bundles);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.ok(ms < 2000, `2000 cached verifications took ${ms.toFixed(0)} ms`);
  });
});

describe('parseAndVerifyX509Svid: misuse', () => {
  const good = caA.svid('/w').chainDer;
  const table: Array<[string, () => unknown]> = [
    ['certificates not in an array', () => parseAndVerifyX509Svid(good[0] as unknown as Uint8Array[], bundles)],
    ['a certificate that is not bytes', () => parseAndVerifyX509Svid(['abc' as unknown as Uint8Array], bundles)],
    ['no bundle source', () => parseAndVerifyX509Svid(good, undefined as unknown as X509BundleSource)],
    ['an invalid time', () => parseAndVerifyX509Svid(good, bundles, { time: new Date(Number.NaN) })],
  ];
  for (const [name, fn] of table) {
    it(`throws TypeError for ${name}`, () => assert.throws(fn, TypeError));
  }
  it('accepts the well-formed call', () => {
    assert.equal(parseAndVerifyX509Svid(good, bundles, { time: new Date() }).id.toString(), 'spiffe://example.org/w');
  });
});

describe('parseAndVerifyX509Svid: the broken rule is named', () => {
  const ca = TestCa.create({ trustDomain: 'example.org' });
  const bundle = ca.bundle();
  const hourAgo = new Date(Date.now() - 3_600_000);
  const cases: Array<[string, TestSvid, string | undefined]> = [
    ['a valid SVID', ca.svid('/ok'), undefined],
    ['no URI SAN', ca.svid('/x', { uris: [] }), 'leaf-uri-san-missing'],
    ['two URI SANs', ca.svid('/x', { uris: ['spiffe://example.org/a', 'spiffe://example.org/b'] }), 'leaf-uri-san-multiple'],
    ['a non-SPIFFE URI', ca.svid('/x', { uris: ['https://example.org/a'] }), 'leaf-uri-san-invalid'],
    ['the trust domain ID', ca.svid(''), 'leaf-id-no-path'],
    ['a CA leaf', ca.svid('/x', { isCa: true }), 'leaf-ca'],
    ['keyCertSign on the leaf', ca.svid('/x', { keyUsage: ['digitalSignature', 'keyCertSign'] }), 'leaf-key-cert-sign'],
    ['cRLSign on the leaf', ca.svid('/x', { keyUsage: ['digitalSignature', 'cRLSign'] }), 'leaf-crl-sign'],
    ['no digitalSignature', ca.svid('/x', { keyUsage: ['keyEncipherment'] }), 'leaf-digital-signature'],
    ['an expired leaf', ca.svid('/x', { notBefore: new Date(Date.now() - 7_200_000), notAfter: hourAgo }), 'expired'],
  ];
  for (const [name, svid, rule] of cases) {
    it(`${name}: ${rule ?? 'accepted'}`, () => {
      if (rule === undefined) {
        assert.equal(parseAndVerifyX509Svid(svid.chainDer, bundle).id.toString(), 'spiffe://example.org/ok');
        return;
      }
      assert.throws(
        () => parseAndVerifyX509Svid(svid.chainDer, bundle),
        (err: unknown) => err instanceof X509SvidError && err.rule === rule,
      );
    });
  }
});
