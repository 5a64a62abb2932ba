/**
 * Name constraints and signature algorithms, as Go's crypto/x509 (go-spiffe's verifier) enforces
 * them: certificates minted with constraints at the intermediate and at the root, critical and
 * not, permitted and excluded, and with SHA-1 / MD5 signatures.
 *
 * The attack the constraints stop: one upstream CA shared by several trust domains, each given an
 * intermediate constrained to its own trust domain. Without enforcement, the example.org
 * intermediate can mint `spiffe://partner.org/...` and be trusted through partner.org's bundle.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAndVerifyX509Svid } from './verify.js';
import { X509SvidError } from '../../errors.js';
import { TrustDomain } from '../../spiffeid/index.js';
import { X509Bundle } from '../../bundle/x509-bundle.js';
import { X509BundleSet } from '../../bundle/x509-bundle-set.js';
import { TestCa, type NameConstraintsSpec, type SvidOptions } from '../../testing/ca.js';
import * as der from '@spiffe-node/test-kit/der';

const TDS = ['example.org', 'partner.org', 'prod.example.org', 'example.org.evil.com'];

/** Bundles that trust `root` for every trust domain above: one upstream CA shared by all. */
function sharedBundles(root: TestCa): X509BundleSet {
  return new X509BundleSet(...TDS.map((td) => X509Bundle.fromAuthorities(TrustDomain.fromString(td), [root.certificate])));
}

type Outcome = 'accepted' | RegExp;

interface Case {
  name: string;
  /** Where the constraints sit. */
  at: 'intermediate' | 'root';
  constraints: NameConstraintsSpec;
  /** The leaf's SPIFFE ID and its other SANs. */
  id: string;
  leaf?: SvidOptions;
  outcome: Outcome;
}

const notPermitted = (what: string): RegExp => new RegExp(`${what} is not permitted by any constraint$`);

const cases: Case[] = [];
for (const critical of [true, false]) {
  const c = critical ? 'critical' : 'non-critical';
  for (const at of ['intermediate', 'root'] as const) {
    cases.push(
      {
        name: `${c} permitted URI example.org at the ${at}: a leaf of example.org`,
        at,
        constraints: { critical, permitted: { uris: ['example.org'] } },
        id: 'spiffe://example.org/w',
        outcome: 'accepted',
      },
      {
        name: `${c} permitted URI example.org at the ${at}: a leaf of partner.org`,
        at,
        constraints: { critical, permitted: { uris: ['example.org'] } },
        id: 'spiffe://partner.org/w',
        outcome: notPermitted('URI "spiffe://partner.org/w"'),
      },
      {
        name: `${c} excluded URI partner.org at the ${at}: a leaf of partner.org`,
        at,
        constraints: { critical, excluded: { uris: ['partner.org'] } },
        id: 'spiffe://partner.org/w',
        outcome: /URI "spiffe:\/\/partner.org\/w" is excluded by constraint "partner.org"$/,
      },
      {
        name: `${c} excluded URI partner.org at the ${at}: a leaf of example.org`,
        at,
        constraints: { critical, excluded: { uris: ['partner.org'] } },
        id: 'spiffe://example.org/w',
        outcome: 'accepted',
      },
    );
  }
}
cases.push(
  {
    name: 'permitted URI example.org matches a subdomain trust domain by whole labels',
    at: 'intermediate',
    constraints: { permitted: { uris: ['example.org'] } },
    id: 'spiffe://prod.example.org/w',
    outcome: 'accepted',
  },
  {
    name: 'permitted URI example.org does not match example.org.evil.com',
    at: 'intermediate',
    constraints: { permitted: { uris: ['example.org'] } },
    id: 'spiffe://example.org.evil.com/w',
    outcome: notPermitted('URI "spiffe://example.org.evil.com/w"'),
  },
  {
    name: 'a leading period permits subdomains only',
    at: 'intermediate',
    constraints: { permitted: { uris: ['.example.org'] } },
    id: 'spiffe://example.org/w',
    outcome: notPermitted('URI "spiffe://example.org/w"'),
  },
  {
    name: 'a leading period permits a subdomain',
    at: 'intermediate',
    constraints: { permitted: { uris: ['.example.org'] } },
    id: 'spiffe://prod.example.org/w',
    outcome: 'accepted',
  },
  {
    name: 'URI constraints are case-insensitive',
    at: 'root',
    constraints: { permitted: { uris: ['EXAMPLE.org'] } },
    id: 'spiffe://example.org/w',
    outcome: 'accepted',
  },
  {
    name: 'permitted DNS: a DNS SAN inside',
    at: 'intermediate',
    constraints: { permitted: { dnsNames: ['example.org'] } },
    id: 'spiffe://example.org/w',
    leaf: { dnsNames: ['web.example.org'] },
    outcome: 'accepted',
  },
  {
    name: 'permitted DNS: a DNS SAN outside',
    at: 'intermediate',
    constraints: { permitted: { dnsNames: ['example.org'] } },
    id: 'spiffe://example.org/w',
    leaf: { dnsNames: ['web.example.org', 'evil.com'] },
    outcome: notPermitted('DNS name "evil.com"'),
  },
  {
    name: 'excluded DNS: a wildcard that would cover an excluded name',
    at: 'intermediate',
    constraints: { excluded: { dnsNames: ['admin.example.org'] } },
    id: 'spiffe://example.org/w',
    leaf: { dnsNames: ['*.example.org'] },
    outcome: /DNS name "\*.example.org" is excluded by constraint "admin.example.org"$/,
  },
  {
    name: 'permitted DNS only: the URI SAN is not constrained',
    at: 'intermediate',
    constraints: { permitted: { dnsNames: ['example.org'] } },
    id: 'spiffe://partner.org/w',
    outcome: 'accepted',
  },
  {
    name: 'permitted email domain: a mailbox inside',
    at: 'root',
    constraints: { permitted: { emails: ['example.org'] } },
    id: 'spiffe://example.org/w',
    leaf: { emails: ['ops@example.org'] },
    outcome: 'accepted',
  },
  {
    name: 'permitted email domain: a mailbox outside',
    at: 'root',
    constraints: { permitted: { emails: ['example.org'] } },
    id: 'spiffe://example.org/w',
    leaf: { emails: ['ops@evil.com'] },
    outcome: notPermitted('email address "ops@evil.com"'),
  },
  {
    name: 'excluded mailbox',
    at: 'intermediate',
    constraints: { excluded: { emails: ['root@example.org'] } },
    id: 'spiffe://example.org/w',
    leaf: { emails: ['root@EXAMPLE.org'] },
    outcome: /email address "root@EXAMPLE.org" is excluded by constraint "root@example.org"$/,
  },
  {
    name: 'permitted IP ranges: addresses inside',
    at: 'intermediate',
    constraints: { permitted: { ipRanges: ['10.0.0.0/8', '2001:db8::/32'] } },
    id: 'spiffe://example.org/w',
    leaf: { ipAddresses: ['10.1.2.3', '2001:db8::1'] },
    outcome: 'accepted',
  },
  {
    name: 'permitted IP ranges: an address outside',
    at: 'intermediate',
    constraints: { permitted: { ipRanges: ['10.0.0.0/8'] } },
    id: 'spiffe://example.org/w',
    leaf: { ipAddresses: ['10.1.2.3', '192.168.1.1'] },
    outcome: notPermitted('IP address "192.168.1.1"'),
  },
  {
    name: 'excluded IPv6 range',
    at: 'root',
    constraints: { excluded: { ipRanges: ['2001:db8::/32'] } },
    id: 'spiffe://example.org/w',
    leaf: { ipAddresses: ['2001:db8:0:0:0:0:0:7'] },
    outcome: /IP address "2001:db8:0:0:0:0:0:7" is excluded by constraint "2001:db8:0:0:0:0:0:0\/ffff:ffff:0:0:0:0:0:0"$/,
  },
);

// directoryName base: [4] { SEQUENCE { SET { SEQUENCE { O, "SPIFFE test" } } } }
const directoryName = der.tlv(0xa4, der.sequence(der.set(der.sequence(der.oid('2.5.4.10'), der.utf8String('SPIFFE test')))));

cases.push(
  {
    name: 'a critical constraint of a form that cannot be checked (directoryName) makes the CA unusable',
    at: 'intermediate',
    constraints: { critical: true, permitted: { uris: ['example.org'], raw: [directoryName] } },
    id: 'spiffe://example.org/w',
    outcome: /has the critical extension 2\.5\.29\.30 \(name constraints of a form this library cannot check: directoryName\)/,
  },
  {
    name: 'a critical directoryName constraint on the bundle authority, whatever the leaf',
    at: 'root',
    constraints: { critical: true, permitted: { uris: ['example.org'], raw: [directoryName] } },
    id: 'spiffe://example.org/w',
    leaf: { subject: {} },
    outcome: /holds a critical name constraint of a form this library cannot check \(directoryName\)$/,
  },
  {
    name: 'a non-critical directoryName constraint refuses a leaf with a subject',
    at: 'intermediate',
    constraints: { critical: false, permitted: { raw: [directoryName] } },
    id: 'spiffe://example.org/w',
    outcome: /holds a directoryName name constraint, which this library cannot check, and the certificate has a name of that form$/,
  },
  {
    name: 'a non-critical directoryName constraint does not apply to a leaf with an empty subject',
    at: 'intermediate',
    constraints: { critical: false, permitted: { raw: [directoryName] } },
    id: 'spiffe://example.org/w',
    leaf: { subject: {} },
    outcome: 'accepted',
  },
);

function mint(c: Case): { chain: Uint8Array[]; bundles: X509BundleSet } {
  const root = TestCa.create({ trustDomain: 'example.org', ...(c.at === 'root' ? { nameConstraints: c.constraints } : {}) });
  const mid = root.intermediate(c.at === 'intermediate' ? { nameConstraints: c.constraints } : {});
  const svid = mid.svid(c.id, c.leaf);
  return { chain: svid.chainDer, bundles: sharedBundles(root) };
}

describe('parseAndVerifyX509Svid: name constraints, enforced as Go does', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.outcome === 'accepted' ? 'accepted' : 'refused'}`, () => {
      const { chain, bundles } = mint(c);
      if (c.outcome === 'accepted') {
        assert.equal(parseAndVerifyX509Svid(chain, bundles).id.toString(), c.id);
        return;
      }
      assert.throws(
        () => parseAndVerifyX509Svid(chain, bundles),
        (err: unknown) => {
          assert.ok(err instanceof X509SvidError, String(err));
          assert.match(err.message, c.outcome as RegExp);
          assert.match(err.message, /^x509svid: /);
          return true;
        },
      );
    });
  }

  it('names the CA whose constraints refuse, and the rule, with code ERR_X509SVID_UNTRUSTED', () => {
    const { chain, bundles } = mint(cases[1]!);
    assert.throws(() => parseAndVerifyX509Svid(chain, bundles), {
      code: 'ERR_X509SVID_UNTRUSTED',
      rule: 'name-constraints',
      message:
        'x509svid: could not verify leaf certificate: the name constraints of signing certificate "C=US, O=SPIFFE test, CN=example.org intermediate CA 1" refuse the leaf certificate: URI "spiffe://partner.org/w" is not permitted by any constraint',
    });
  });

  it('applies a root constraint to the intermediates too (as Go does)', () => {
    const root = TestCa.create({ trustDomain: 'example.org', nameConstraints: { permitted: { uris: ['example.org'] } } });
    const mid = root.intermediate({ uris: ['spiffe://partner.org'] });
    assert.throws(() => parseAndVerifyX509Svid(mid.svid('/w').chainDer, sharedBundles(root)), {
      code: 'ERR_X509SVID_UNTRUSTED',
      message:
        /the name constraints of bundle authority ".*root CA" refuse the signing certificate ".*intermediate CA 1": URI "spiffe:\/\/partner.org" is not permitted by any constraint$/,
    });
  });

  it('keeps searching: a second, unconstrained path to the bundle is accepted', () => {
    // Two intermediates with the same name and key: one constrained away from partner.org, one not.
    const root = TestCa.create({ trustDomain: 'example.org' });
    const keyPair = { privateKey: root.privateKey, publicKey: root.publicKey };
    const constrained = root.intermediate({
      keyPair,
      subject: { commonName: 'shared' },
      nameConstraints: { excluded: { uris: ['partner.org'] } },
    });
    const open = root.intermediate({ keyPair, subject: { commonName: 'shared' } });
    const leaf = constrained.leaf('spiffe://partner.org/w');
    const bundles = sharedBundles(root);
    assert.throws(() => parseAndVerifyX509Svid([leaf.der, constrained.der], bundles), { rule: 'name-constraints' });
    const { verifiedChains } = parseAndVerifyX509Svid([leaf.der, constrained.der, open.der], bundles);
    assert.equal(verifiedChains.length, 1);
    assert.ok(verifiedChains[0]![1]!.raw.equals(open.der));
  });

  it('refuses a URI SAN whose host is an IP address under URI constraints', () => {
    const root = TestCa.create({ trustDomain: 'example.org' });
    const mid = root.intermediate({ nameConstraints: { excluded: { uris: ['evil.com'] } } });
    // An SVID has one URI SAN, its SPIFFE ID; an intermediate below the constrained CA carries the IP URI.
    const mid2 = mid.intermediate({ uris: ['https://10.0.0.1/x'] });
    assert.throws(() => parseAndVerifyX509Svid(mid2.svid('/w').chainDer, sharedBundles(root)), {
      message: /URI with IP \("https:\/\/10.0.0.1\/x"\) cannot be matched against constraints$/,
    });
  });

  it('refuses a malformed name constraints extension (no subtrees) as unparseable', () => {
    const root = TestCa.create({ trustDomain: 'example.org' });
    const mid = root.intermediate({ extraExtensions: [{ oid: '2.5.29.30', critical: true, value: der.sequence() }] });
    assert.throws(() => parseAndVerifyX509Svid(mid.svid('/w').chainDer, sharedBundles(root)), {
      code: 'ERR_X509SVID_INVALID',
      rule: 'unparseable',
      message:
        'x509svid: signing certificate 2 cannot be parsed: name constraints has neither permittedSubtrees nor excludedSubtrees (RFC 5280 requires one)',
    });
  });
});

describe('parseAndVerifyX509Svid: weak signature algorithms are refused on every certificate', () => {
  const ec = TestCa.create({ trustDomain: 'example.org' });
  const rsa = TestCa.create({ trustDomain: 'example.org', keyAlgorithm: 'rsa-2048' });

  it('accepts the same chains signed with SHA-256', () => {
    assert.equal(parseAndVerifyX509Svid(ec.svid('/w').chainDer, ec.bundle()).id.toString(), 'spiffe://example.org/w');
    assert.equal(parseAndVerifyX509Svid(rsa.intermediate().svid('/w').chainDer, rsa.bundle()).id.toString(), 'spiffe://example.org/w');
  });

  const table: Array<[string, () => { chain: Uint8Array[]; bundle: X509Bundle }, RegExp]> = [
    [
      'a leaf signed with ecdsa-with-SHA1',
      () => ({ chain: ec.svid('/w', { weakDigest: 'sha1' }).chainDer, bundle: ec.bundle() }),
      /^x509svid: leaf certificate is signed with ecdsa-with-SHA1 \(SHA-1\), a broken digest/,
    ],
    [
      'a leaf signed with sha1WithRSAEncryption',
      () => ({ chain: rsa.svid('/w', { weakDigest: 'sha1' }).chainDer, bundle: rsa.bundle() }),
      /^x509svid: leaf certificate is signed with sha1WithRSAEncryption \(SHA-1\)/,
    ],
    [
      'a leaf signed with md5WithRSAEncryption',
      () => ({ chain: rsa.svid('/w', { weakDigest: 'md5' }).chainDer, bundle: rsa.bundle() }),
      /^x509svid: leaf certificate is signed with md5WithRSAEncryption \(MD5\)/,
    ],
    [
      'an intermediate signed with ecdsa-with-SHA1',
      () => ({ chain: ec.intermediate({ weakDigest: 'sha1' }).svid('/w').chainDer, bundle: ec.bundle() }),
      /^x509svid: signing certificate 2 is signed with ecdsa-with-SHA1 \(SHA-1\)/,
    ],
    [
      'a bundle authority self-signed with SHA-1',
      () => {
        const root = TestCa.create({ trustDomain: 'example.org', weakDigest: 'sha1' });
        return { chain: root.svid('/w').chainDer, bundle: root.bundle() };
      },
      /^x509svid: could not verify leaf certificate: bundle authority ".*root CA" of "example.org" is signed with ecdsa-with-SHA1 \(SHA-1\)/,
    ],
  ];
  for (const [name, build, message] of table) {
    it(`refuses ${name}, naming the algorithm and the certificate`, () => {
      const { chain, bundle } = build();
      assert.throws(
        () => parseAndVerifyX509Svid(chain, bundle),
        (err: unknown) => {
          assert.ok(err instanceof X509SvidError, String(err));
          assert.match(err.message, message);
          assert.equal(err.rule, 'signature-algorithm');
          return true;
        },
      );
    });
  }
});
