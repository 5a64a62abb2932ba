/**
 * Differential test of X509-SVID verification against go-spiffe (v2.9.0, Go's crypto/x509): the
 * same chains and bundles, minted by the test CA (name constraints at the intermediate and at the
 * root, critical and not, permitted and excluded; SHA-1 and MD5 signatures; an undecodable SAN),
 * judged by `parseAndVerifyX509Svid` and by `x509svid.ParseAndVerify` (go/cmd/x509-verify). The
 * verdicts must be the same, except where this library is deliberately stricter: each such case
 * says why, and go-spiffe must then accept what the library refuses (so a change on either side
 * shows).
 *
 * Needs Go (the peers are built once and cached); skipped without it unless SPIFFE_REQUIRE_SPIRE
 * is set.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { TrustDomain, X509Bundle, X509BundleSet, X509SvidError } from '@spiffe-node/spiffe';
import { parseAndVerifyX509Svid } from '@spiffe-node/spiffe/svid/x509';
import { TestCa, type CaOptions, type SvidOptions } from '@spiffe-node/test-kit';
import * as der from '@spiffe-node/test-kit/der';
import { buildGoPeers, goVersion, prerequisitesRequired, type GoPeers } from './go-peers.js';

const TRUST_DOMAINS = ['example.org', 'partner.org'];

interface Case {
  name: string;
  root?: CaOptions;
  /** Options of the intermediate; undefined: the leaf is signed by the root. */
  intermediate?: CaOptions;
  id: string;
  leaf?: SvidOptions;
  /** Why this library refuses what go-spiffe accepts, when it does so on purpose. */
  stricter?: string;
}

const directoryName = der.tlv(0xa4, der.sequence(der.set(der.sequence(der.oid('2.5.4.10'), der.utf8String('SPIFFE test')))));
const invalidTagSan = der.sequence(der.tlv(0xf9, Buffer.alloc(0)), der.ia5String(0x86, 'spiffe://example.org/web'));

const cases: Case[] = [{ name: 'a plain chain', intermediate: {}, id: 'spiffe://example.org/w' }];
for (const critical of [true, false]) {
  for (const at of ['intermediate', 'root'] as const) {
    const place = (nameConstraints: CaOptions['nameConstraints']): Partial<Case> =>
      at === 'root' ? { root: { nameConstraints }, intermediate: {} } : { intermediate: { nameConstraints } };
    const c = `${critical ? 'critical' : 'non-critical'}, at the ${at}`;
    cases.push(
      {
        name: `permitted URI example.org, ${c}: leaf inside`,
        ...place({ critical, permitted: { uris: ['example.org'] } }),
        id: 'spiffe://example.org/w',
      },
      {
        name: `permitted URI example.org, ${c}: leaf outside`,
        ...place({ critical, permitted: { uris: ['example.org'] } }),
        id: 'spiffe://partner.org/w',
      },
      {
        name: `excluded URI partner.org, ${c}: leaf inside`,
        ...place({ critical, excluded: { uris: ['partner.org'] } }),
        id: 'spiffe://example.org/w',
      },
      {
        name: `excluded URI partner.org, ${c}: leaf excluded`,
        ...place({ critical, excluded: { uris: ['partner.org'] } }),
        id: 'spiffe://partner.org/w',
      },
    );
  }
}
cases.push(
  {
    name: 'leading-period URI constraint: the domain itself',
    intermediate: { nameConstraints: { permitted: { uris: ['.example.org'] } } },
    id: 'spiffe://example.org/w',
  },
  {
    name: 'permitted DNS: a DNS SAN outside',
    intermediate: { nameConstraints: { permitted: { dnsNames: ['example.org'] } } },
    id: 'spiffe://example.org/w',
    leaf: { dnsNames: ['evil.com'] },
  },
  {
    name: 'permitted DNS: a DNS SAN inside',
    intermediate: { nameConstraints: { permitted: { dnsNames: ['example.org'] } } },
    id: 'spiffe://example.org/w',
    leaf: { dnsNames: ['a.example.org'] },
  },
  {
    name: 'excluded DNS: a covering wildcard',
    intermediate: { nameConstraints: { excluded: { dnsNames: ['admin.example.org'] } } },
    id: 'spiffe://example.org/w',
    leaf: { dnsNames: ['*.example.org'] },
  },
  {
    name: 'permitted email: a mailbox outside',
    root: { nameConstraints: { permitted: { emails: ['example.org'] } } },
    id: 'spiffe://example.org/w',
    leaf: { emails: ['a@evil.com'] },
  },
  {
    name: 'permitted IP: an address inside',
    intermediate: { nameConstraints: { permitted: { ipRanges: ['10.0.0.0/8'] } } },
    id: 'spiffe://example.org/w',
    leaf: { ipAddresses: ['10.1.2.3'] },
  },
  {
    name: 'permitted IP: an address outside',
    intermediate: { nameConstraints: { permitted: { ipRanges: ['10.0.0.0/8'] } } },
    id: 'spiffe://example.org/w',
    leaf: { ipAddresses: ['192.168.0.1'] },
  },
  {
    name: 'root constraint against an intermediate SAN',
    root: { nameConstraints: { permitted: { uris: ['example.org'] } } },
    intermediate: { uris: ['spiffe://partner.org'] },
    id: 'spiffe://example.org/w',
  },
  {
    name: 'critical directoryName constraint',
    intermediate: { nameConstraints: { critical: true, permitted: { uris: ['example.org'], raw: [directoryName] } } },
    id: 'spiffe://example.org/w',
  },
  {
    name: 'non-critical directoryName constraint, leaf with a subject',
    intermediate: { nameConstraints: { critical: false, permitted: { raw: [directoryName] } } },
    id: 'spiffe://example.org/w',
    stricter: 'Go ignores a non-critical constraint form it cannot check; this library fails closed when the leaf has a name of that form',
  },
  { name: 'leaf signed with ecdsa-with-SHA1', intermediate: {}, id: 'spiffe://example.org/w', leaf: { weakDigest: 'sha1' } },
  { name: 'intermediate signed with ecdsa-with-SHA1', intermediate: { weakDigest: 'sha1' }, id: 'spiffe://example.org/w' },
  {
    name: 'leaf signed with sha1WithRSAEncryption',
    root: { keyAlgorithm: 'rsa-2048' },
    id: 'spiffe://example.org/w',
    leaf: { weakDigest: 'sha1' },
  },
  {
    name: 'leaf signed with md5WithRSAEncryption',
    root: { keyAlgorithm: 'rsa-2048' },
    id: 'spiffe://example.org/w',
    leaf: { weakDigest: 'md5' },
  },
  {
    name: 'bundle authority self-signed with SHA-1',
    root: { weakDigest: 'sha1' },
    id: 'spiffe://example.org/w',
    stricter: "Go never checks a root's self-signature; this library refuses a weak signature on every certificate of the chain",
  },
  {
    name: 'a SAN with an invalid GeneralName tag before the URI',
    intermediate: {},
    id: 'spiffe://example.org/web',
    leaf: { uris: [], extraExtensions: [{ oid: '2.5.29.17', value: invalidTagSan }] },
    stricter:
      'Go skips unknown GeneralName tags; OpenSSL, and so Node, refuses the extension, and the library must not authorize an ID Node does not show',
  },
);

interface Minted {
  chain: Uint8Array[];
  bundles: X509BundleSet;
}

function mint(c: Case): Minted {
  const root = TestCa.create({ trustDomain: 'example.org', ...c.root });
  const issuer = c.intermediate === undefined ? root : root.intermediate(c.intermediate);
  const svid = issuer.svid(c.id, c.leaf);
  // One upstream CA shared by two trust domains: name constraints are what keeps them apart.
  const bundles = new X509BundleSet(
    ...TRUST_DOMAINS.map((td) => X509Bundle.fromAuthorities(TrustDomain.fromString(td), [root.certificate])),
  );
  return { chain: svid.chainDer, bundles };
}

interface Verdict {
  name: string;
  ok: boolean;
  id?: string;
  error?: string;
}

function ours(m: Minted): Verdict & { name: '' } {
  try {
    return { name: '', ok: true, id: parseAndVerifyX509Svid(m.chain, m.bundles).id.toString() };
  } catch (err) {
    assert.ok(err instanceof X509SvidError, String(err));
    return { name: '', ok: false, error: err.message };
  }
}

function goSpiffe(peers: GoPeers, input: Array<{ name: string } & Minted>): Verdict[] {
  const b64 = (d: Uint8Array): string => Buffer.from(d).toString('base64');
  const json = input.map(({ name, chain, bundles }) => ({
    name,
    chain: chain.map(b64),
    bundles: TRUST_DOMAINS.map((td) => ({
      trustDomain: td,
      authorities: bundles
        .getX509BundleForTrustDomain(TrustDomain.fromString(td))
        .authorities()
        .map((a) => b64(a.raw)),
    })),
  }));
  const r = spawnSync(peers.path('x509-verify'), [], { input: JSON.stringify(json), encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `x509-verify failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Verdict[];
}

const skip =
  goVersion() === undefined && !prerequisitesRequired()
    ? 'Go is not installed, so go-spiffe cannot judge (set SPIFFE_REQUIRE_SPIRE=1 to fail instead)'
    : false;

describe('X509-SVID verification: the same verdict as go-spiffe', { skip, timeout: 300_000 }, () => {
  let verdicts: Map<string, { go: Verdict; node: Verdict }>;
  before(async () => {
    const peers = await buildGoPeers();
    const minted = cases.map((c) => ({ name: c.name, ...mint(c) }));
    const fromGo = goSpiffe(peers, minted);
    verdicts = new Map(minted.map((m, i) => [m.name, { go: fromGo[i]!, node: ours(m) }]));
  });

  for (const c of cases) {
    it(`${c.name}${c.stricter ? ' (stricter on purpose)' : ''}`, () => {
      const { go, node } = verdicts.get(c.name)!;
      assert.equal(go.name, c.name);
      const show = `go-spiffe: ${go.ok ? `accepted ${go.id}` : go.error}; this library: ${node.ok ? `accepted ${node.id}` : node.error}`;
      if (c.stricter !== undefined) {
        assert.ok(go.ok && !node.ok, `expected go-spiffe to accept and this library to refuse (${c.stricter}). ${show}`);
        return;
      }
      assert.equal(node.ok, go.ok, show);
      if (go.ok) assert.equal(node.id, go.id);
    });
  }
});
