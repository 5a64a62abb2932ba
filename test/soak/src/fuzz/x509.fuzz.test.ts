/**
 * Property-based tests of every parser of X.509 input: PEM and DER certificate chains, X.509
 * bundles, private keys, and chain verification. Inputs are valid material minted by the test CA,
 * corrupted (bytes flipped, cut, inserted; PEM text edited; certificates swapped, dropped,
 * repeated or taken from another trust domain), and plain noise. The property: a typed error
 * (BundleError / X509SvidError), or a result that obeys the SPIFFE rules.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { BundleError, TrustDomain, X509Bundle, X509BundleSet, X509SvidError } from '@spiffe-node/spiffe';
import { X509Svid, parseAndVerifyX509Svid } from '@spiffe-node/spiffe/svid/x509';
import { TestCa, nodeSubjectAltName, toPem } from '@spiffe-node/test-kit';
import * as derWriter from '@spiffe-node/test-kit/der';
import { assertProperty, fixtureEntropy, mutatedBytes, mutatedString, params, typedOutcome } from './config.js';

const EXAMPLE = TrustDomain.fromString('example.org');

// Every fixture is derived from the seed (see fixtureEntropy): a replayed seed mints the same bytes.
const entropy = fixtureEntropy('x509');
const root = TestCa.create({ trustDomain: 'example.org', entropy });
const mid = root.intermediate();
const partnerRoot = TestCa.create({ trustDomain: 'partner.org', entropy });
const partnerMid = partnerRoot.intermediate();
const leaf = mid.svid('/web', { dnsNames: ['web.example.org'] });
const rsaRoot = TestCa.create({ trustDomain: 'example.org', keyAlgorithm: 'rsa-2048', entropy });
const rsaLeaf = rsaRoot.svid('/rsa');
const p384Leaf = TestCa.create({ trustDomain: 'example.org', keyAlgorithm: 'ec-p384', entropy }).svid('/p384');
const partnerLeaf = partnerMid.svid('/api');
// A leaf claiming an example.org ID, signed by partner.org's CA: must never verify.
const crossLeaf = partnerMid.svid('spiffe://example.org/web');
const caLeaf = mid.svid('/ca', { isCa: true, keyUsage: ['digitalSignature', 'keyCertSign'] });
const twoUris = mid.svid('/two', { uris: ['spiffe://example.org/a', 'spiffe://example.org/b'] });
const expired = mid.svid('/old', { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') });
// Private keys in every encoding, made before any property runs.
const ecKey = createPrivateKey(leaf.keyPem);
const rsaKey = createPrivateKey(rsaLeaf.keyPem);
const otherKey = entropy.keyPair('ec-p256').privateKey;

/** The X509Bundle of a test CA's root, for its trust domain. */
const bundleOf = (ca: TestCa): X509Bundle => X509Bundle.fromAuthorities(TrustDomain.fromString(ca.trustDomain.name), [ca.root.certificate]);
const bundles = new X509BundleSet(bundleOf(root), bundleOf(partnerRoot));

const POOL: X509Certificate[] = [
  leaf.leaf,
  mid.certificate,
  root.certificate,
  partnerLeaf.leaf,
  partnerMid.certificate,
  partnerRoot.certificate,
  crossLeaf.leaf,
  caLeaf.leaf,
  twoUris.leaf,
  expired.leaf,
  rsaLeaf.leaf,
];

/**
 * The URI SANs as Node shows them to an application (`subjectAltName`, as `getPeerCertificate`
 * does in TLS), or null when Node cannot decode the extension. The library must never accept a
 * certificate whose SPIFFE ID Node would show differently, or not at all.
 */
function nodeUriSans(cert: X509Certificate): string[] | null {
  const san = nodeSubjectAltName(cert);
  return san === null
    ? null
    : san
        .split(', ')
        .filter((s) => s.startsWith('URI:'))
        .map((s) => s.slice(4));
}

/** Checks what every accepted SVID must be. */
function assertValidSvid(svid: X509Svid): void {
  const leafCert = svid.certificates[0]!;
  const uris = nodeUriSans(leafCert);
  assert.notEqual(uris, null, 'Node can decode the subjectAltName of an accepted leaf');
  assert.equal(uris!.length, 1, 'exactly one URI SAN, as Node shows it');
  assert.equal(svid.id.toString(), uris![0]);
  assert.notEqual(svid.id.path, '', 'a workload ID, not a trust domain ID');
  assert.equal(leafCert.ca, false, 'the leaf is not a CA');
  assert.ok(leafCert.checkPrivateKey(svid.privateKey), 'the key is the leaf key');
  assert.equal(svid.expiresAt.getTime(), new Date(leafCert.validTo).getTime());
  // The key really signs for the certificate.
  const data = Buffer.from('fuzz');
  const alg = svid.privateKey.asymmetricKeyType === 'rsa' ? 'sha256' : null;
  assert.ok(
    verify(alg, data, leafCert.publicKey, sign(alg, data, svid.privateKey)),
    "a signature made with the accepted private key verifies with the leaf certificate: the key is really the leaf's",
  );
}

function concatDer(certs: readonly X509Certificate[]): Uint8Array {
  return new Uint8Array(Buffer.concat(certs.map((c) => c.raw)));
}

/** Whether `input` is exactly the concatenation of (some of) `certs`, in some order. */
function tiles(input: Uint8Array, certs: readonly X509Certificate[]): boolean {
  const buf = Buffer.from(input);
  let pos = 0;
  outer: while (pos < buf.length) {
    for (const c of certs) {
      if (c.raw.length <= buf.length - pos && buf.subarray(pos, pos + c.raw.length).equals(c.raw)) {
        pos += c.raw.length;
        continue outer;
      }
    }
    return false;
  }
  return true;
}

function pemOf(der: Uint8Array, label = 'CERTIFICATE'): string {
  return toPem(label, der);
}

/** PEM text of certificates, each block's DER possibly corrupted, then the text possibly edited. */
const corruptedPem = (certs: readonly X509Certificate[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc
      .tuple(...certs.map((c) => fc.oneof(fc.constant(new Uint8Array(c.raw)), mutatedBytes(c.raw))))
      .map((ders) => ders.map((d) => pemOf(d)).join('')),
    mutatedString(certs.map((c) => pemOf(c.raw)).join(''), fc.constantFrom('-', 'A', '=', '\n', ' ', ':', '+', '/', 'B', 'x')),
    fc.constantFrom(
      '',
      '   \n',
      '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
      '-----BEGIN CERTIFICATE-----\nAAAA\n',
      `-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n${Buffer.from(certs[0]!.raw).toString('base64')}\n-----END CERTIFICATE-----\n`,
      pemOf(leaf.keyDer, 'PRIVATE KEY'),
      `junk before\n${pemOf(certs[0]!.raw)}junk after`,
    ),
    fc.string({ unit: 'binary-ascii', maxLength: 200 }),
  );

describe('fuzz: X.509 bundles', () => {
  it('X509Bundle.parseRaw: BundleError, or exactly the certificates the DER holds', () => {
    const valid = concatDer([root.certificate, partnerRoot.certificate, mid.certificate]);
    const input = fc.oneof(
      { weight: 5, arbitrary: mutatedBytes(valid) },
      { weight: 2, arbitrary: fc.shuffledSubarray(POOL, { minLength: 1 }).map(concatDer) },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          new Uint8Array([0x30]),
          new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
          new Uint8Array([0x30, 0x80, 0, 0]),
          new Uint8Array([0x30, 0x82, 0x10, 0x00]),
        ),
      },
    );
    assertProperty(
      fc.property(input, (der) => {
        const outcome = typedOutcome(() => X509Bundle.parseRaw(EXAMPLE, der), 'X509Bundle.parseRaw');
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof BundleError, String(outcome.error));
          assert.equal(outcome.error.code, 'ERR_BUNDLE_INVALID');
          return;
        }
        const bundle = outcome.value;
        const authorities = bundle.authorities();
        assert.ok(authorities.length >= 1, 'at least one authority');
        assert.ok(tiles(der, authorities), 'the input is exactly the certificates parsed: no byte skipped or invented');
        assert.ok(X509Bundle.parse(EXAMPLE, bundle.marshal()).equals(bundle), 'PEM round trip');
        assert.ok(X509Bundle.parseRaw(EXAMPLE, concatDer(authorities)).equals(bundle), 'DER round trip');
      }),
      params(300),
    );
  });

  it('X509Bundle.parse (PEM): BundleError, or certificates that round-trip', () => {
    assertProperty(
      fc.property(corruptedPem([root.certificate, partnerRoot.certificate]), (pem) => {
        const outcome = typedOutcome(() => X509Bundle.parse(EXAMPLE, pem), 'X509Bundle.parse');
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof BundleError, String(outcome.error));
          return;
        }
        const bundle = outcome.value;
        assert.ok(bundle.authorities().length >= 1, 'at least one authority');
        for (const a of bundle.authorities()) assert.ok(a instanceof X509Certificate, 'authorities are X509Certificates');
        assert.ok(X509Bundle.parse(EXAMPLE, bundle.marshal()).equals(bundle), 'PEM round trip');
      }),
      params(300),
    );
  });
});

describe('fuzz: X509-SVIDs and private keys', () => {
  const validKeys = [leaf.keyDer, rsaLeaf.keyDer, p384Leaf.keyDer];

  it('X509Svid.parseRaw: X509SvidError, or a valid SVID whose key matches its leaf', () => {
    const chain = concatDer(leaf.certificates);
    const input = fc.oneof(
      { weight: 3, arbitrary: fc.tuple(mutatedBytes(chain), fc.constant(new Uint8Array(leaf.keyDer))) },
      {
        weight: 3,
        arbitrary: fc.tuple(
          fc.constant(chain),
          fc.constantFrom(...validKeys).chain((k) => mutatedBytes(k)),
        ),
      },
      {
        weight: 2,
        arbitrary: fc.tuple(
          fc.shuffledSubarray(POOL, { minLength: 1, maxLength: 3 }).map(concatDer),
          fc.constantFrom(...validKeys.map((k) => new Uint8Array(k))),
        ),
      },
      { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 })) },
    );
    assertProperty(
      fc.property(input, ([certs, key]) => {
        const outcome = typedOutcome(() => X509Svid.parseRaw(certs, key), 'X509Svid.parseRaw');
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof X509SvidError, String(outcome.error));
          return;
        }
        assertValidSvid(outcome.value);
      }),
      params(300),
    );
  });

  it('X509Svid.parse (PEM chain and key in every encoding): X509SvidError, or a valid SVID', () => {
    const keyTexts = [
      leaf.keyPem,
      ecKey.export({ type: 'sec1', format: 'pem' }) as string,
      rsaKey.export({ type: 'pkcs1', format: 'pem' }) as string,
      ecKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string,
      otherKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      ecKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
      pemOf(leaf.leaf.raw),
      leaf.leaf.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    ];
    const keyText = fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(...keyTexts) },
      { weight: 3, arbitrary: fc.constantFrom(...keyTexts).chain((k) => mutatedString(k, fc.constantFrom('A', '-', '\n', '=', 'B', ':'))) },
      { weight: 2, arbitrary: mutatedBytes(leaf.keyDer).map((d) => pemOf(d, 'PRIVATE KEY')) },
      { weight: 1, arbitrary: mutatedBytes(leaf.keyDer).map((d) => pemOf(d, 'EC PRIVATE KEY')) },
    );
    const chainText = fc.oneof(
      { weight: 3, arbitrary: fc.constant(leaf.certPem) },
      { weight: 2, arbitrary: corruptedPem(leaf.certificates) },
      { weight: 1, arbitrary: fc.constantFrom(rsaLeaf.certPem, caLeaf.certPem, twoUris.certPem, expired.certPem, partnerLeaf.certPem) },
    );
    assertProperty(
      fc.property(chainText, keyText, (chain, key) => {
        const outcome = typedOutcome(() => X509Svid.parse(chain, key), 'X509Svid.parse');
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof X509SvidError, String(outcome.error));
          return;
        }
        assertValidSvid(outcome.value);
        const again = X509Svid.parse(outcome.value.marshal().certificates, outcome.value.marshal().privateKey);
        assert.ok(again.id.equals(outcome.value.id), 'marshal round trip');
      }),
      params(300),
    );
  });
});

describe('fuzz: subjectAltName decoding agrees with Node', () => {
  // A CA of its own (RSA: native, deterministic signatures) and a fixed serial, so that each run's
  // leaf depends only on the generated extension.
  const sanCa = TestCa.create({ trustDomain: 'example.org', keyAlgorithm: 'rsa-2048', entropy: fixtureEntropy('x509 san') });
  const keyPair = { privateKey: rsaLeaf.privateKey, publicKey: rsaLeaf.leaf.publicKey };
  const w = derWriter;
  const name = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom(w.ia5String(0x86, 'spiffe://example.org/web'), w.ia5String(0x86, 'spiffe://example.org/other')),
    },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        w.ia5String(0x82, 'web.example.org'),
        w.ia5String(0x81, 'ops@example.org'),
        w.tlv(0x87, Buffer.from([127, 0, 0, 1])),
        w.tlv(0x87, Buffer.alloc(16, 1)),
        w.tlv(0xa0, w.oid('1.2.3'), w.explicit(0, w.utf8String('x'))),
        w.tlv(0xa4, w.sequence(w.set(w.sequence(w.oid('2.5.4.10'), w.utf8String('x'))))),
        w.tlv(0x88, Buffer.from('2a0304', 'hex')),
      ),
    },
    {
      weight: 3,
      arbitrary: fc
        .record({ tag: fc.integer({ min: 0, max: 255 }), content: fc.uint8Array({ maxLength: 6 }) })
        .map(({ tag, content }) => w.tlv(tag, content)),
    },
  );
  const sanValue = fc
    .tuple(fc.array(name, { maxLength: 4 }), fc.option(fc.uint8Array({ minLength: 1, maxLength: 3 }), { nil: undefined }))
    .map(([names, trailing]) => Buffer.concat([w.sequence(...names), trailing ?? Buffer.alloc(0)]));

  it('X509Svid.parseRaw and parseAndVerifyX509Svid accept a subjectAltName only when Node shows the same single URI', () => {
    let accepted = 0;
    assertProperty(
      fc.property(sanValue, (value) => {
        const cert = sanCa.leaf('/x', { uris: [], keyPair, serialNumber: 1, extraExtensions: [{ oid: '2.5.29.17', value }] });
        const parsed = typedOutcome(() => X509Svid.parseRaw([cert.der], rsaLeaf.keyDer), 'X509Svid.parseRaw');
        const verified = typedOutcome(() => parseAndVerifyX509Svid([new Uint8Array(cert.der)], bundleOf(sanCa)), 'parseAndVerifyX509Svid');
        assert.equal(parsed.ok, verified.ok, 'parsing and verifying agree on the leaf');
        if (!parsed.ok) {
          assert.ok(parsed.error instanceof X509SvidError, String(parsed.error));
          return;
        }
        accepted++;
        assertValidSvid(parsed.value);
        assert.deepEqual(nodeUriSans(cert.certificate), [parsed.value.id.toString()]);
      }),
      params(200),
    );
    assert.ok(accepted > 0, 'some generated extensions were valid and accepted');
  });
});

describe('fuzz: X509-SVID chain verification', () => {
  it("parseAndVerifyX509Svid: X509SvidError, or a chain that verifies to the bundle of the leaf's own trust domain", () => {
    type Chain = Uint8Array[];
    const pick = fc.shuffledSubarray(POOL, { minLength: 1, maxLength: 4 }).map((certs) => certs.map((c) => new Uint8Array(c.raw)));
    const mutateOne = (chain: Chain): fc.Arbitrary<Chain> =>
      fc.nat({ max: chain.length - 1 }).chain((i) => mutatedBytes(chain[i]!).map((m) => chain.map((c, j) => (j === i ? m : c))));
    const validChains: Chain[] = [
      leaf.chainDer,
      partnerLeaf.chainDer,
      [leaf.leaf.raw, mid.certificate.raw, root.certificate.raw].map((b) => new Uint8Array(b)),
    ];
    const input = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...validChains).chain(mutateOne) },
      { weight: 3, arbitrary: pick },
      { weight: 1, arbitrary: fc.constantFrom(...validChains, crossLeaf.chainDer, caLeaf.chainDer, expired.chainDer, twoUris.chainDer) },
      { weight: 1, arbitrary: fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 3 }) },
    );
    let accepted = 0;
    assertProperty(
      fc.property(input, (chain) => {
        const outcome = typedOutcome(() => parseAndVerifyX509Svid(chain, bundles), 'parseAndVerifyX509Svid');
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof X509SvidError || outcome.error instanceof BundleError, String(outcome.error));
          return;
        }
        accepted++;
        const { id, verifiedChains } = outcome.value;
        const leafCert = new X509Certificate(Buffer.from(chain[0]!));
        assert.deepEqual(nodeUriSans(leafCert), [id.toString()]);
        assert.equal(leafCert.ca, false);
        assert.ok(verifiedChains.length >= 1, 'at least one verified chain');
        const ownBundle = bundles.getX509BundleForTrustDomain(id.trustDomain);
        for (const vc of verifiedChains) {
          assert.ok(Buffer.from(vc[0]!.raw).equals(Buffer.from(chain[0]!)), 'a verified chain starts at the leaf');
          assert.ok(ownBundle.hasAuthority(vc[vc.length - 1]!), "it ends at an authority of the leaf's own trust domain");
          for (let i = 0; i + 1 < vc.length; i++) assert.ok(vc[i]!.verify(vc[i + 1]!.publicKey), 'each link is signed by the next');
          const now = Date.now();
          for (const c of vc)
            assert.ok(new Date(c.validFrom).getTime() <= now && now < new Date(c.validTo).getTime(), 'every link is valid now');
        }
      }),
      params(300),
    );
    assert.ok(accepted > 0, 'some valid chains were generated and accepted');
  });
});
