/**
 * Catalogue §7, `ID`: SPIFFE ID parsing, through the `sub` of validly signed JWT-SVIDs (feature
 * `jwt-validate`) and, sampled, through X.509 URI SANs (server role).
 *
 * Besides the catalogue's variants, two `ID-2` variants cover a rule of ours (NOTES §2, SPIFFE
 * ID §2.4): scheme and trust domain are case-insensitive, so `SPIFFE://Test.Example.ORG/...`
 * is accepted and reported in its normalised, lowercase form (the path keeps its case). go-spiffe
 * rejects such IDs.
 */
import { conformanceGroup, type ConformanceCase } from './lib/cases.js';
import { TD_ID, TRUST_DOMAIN } from './lib/env.js';
import { jwks, newJwtKey, signToken, validClaims } from './lib/jwt.js';
import { expectJwtAccepted, jwtNegative, localValidation, serveJwtBundles } from './lib/jwt-cases.js';
import { SERVER_ROLE, expectAccepted, expectRejected, positiveControl } from './lib/roles.js';
import { uriSans } from './lib/probe.js';

const INVALID_IDS: readonly { name: string; id: string }[] = [
  { name: 'empty-trust-domain', id: 'spiffe:///a' },
  { name: 'port', id: `spiffe://${TRUST_DOMAIN}:8080/a` },
  { name: 'userinfo', id: `spiffe://u@${TRUST_DOMAIN}/a` },
  { name: 'query', id: `${TD_ID}/a?x=1` },
  { name: 'fragment', id: `${TD_ID}/a#f` },
  { name: 'percent-encoded', id: `${TD_ID}/%41` },
  { name: 'empty-segment', id: `${TD_ID}/a//b` },
  { name: 'dot-segment', id: `${TD_ID}/a/./b` },
  { name: 'dot-dot-segment', id: `${TD_ID}/a/../b` },
  { name: 'trailing-slash', id: `${TD_ID}/a/` },
  { name: 'invalid-path-char', id: `${TD_ID}/a!b` },
  { name: 'invalid-trust-domain-char', id: 'spiffe://t$d/a' },
];

/** Invalid IDs also run as X.509 URI SANs (server role). */
const INVALID_X509_IDS: readonly { name: string; id: string }[] = [
  { name: 'x509-query', id: `${TD_ID}/a?x=1` },
  { name: 'x509-percent-encoded', id: `${TD_ID}/%41` },
  { name: 'x509-trailing-slash', id: `${TD_ID}/a/` },
  { name: 'x509-port', id: `spiffe://${TRUST_DOMAIN}:8080/a` },
];

/** A SPIFFE ID of exactly 2048 bytes in the suite trust domain (ID §2.3). */
function maxLengthId(): string {
  let id = TD_ID;
  const segment = 'a'.repeat(100);
  while (id.length + 1 + segment.length <= 2048) id += `/${segment}`;
  const rest = 2048 - id.length - 1;
  if (rest > 0) id += `/${'b'.repeat(rest)}`;
  return id;
}

/**
 * ID-2: a token for `sub` is accepted and reported as `reported` (default `sub`). With
 * `trustDomain`, `sub` belongs to that trust domain: its bundle is served next to the suite's
 * and it signs the token.
 */
function validIdCase(name: string, sub: string, options: { trustDomain?: string; reported?: string } = {}): ConformanceCase {
  return {
    id: `ID-2/${name}`,
    level: 'MUST',
    title: 'Accepts valid edge-case SPIFFE IDs',
    async run(env) {
      let key = env.jwtKey;
      if (options.trustDomain !== undefined) {
        key = newJwtKey('ES256');
        await serveJwtBundles(env, `ID-2/${name}`, { [TD_ID]: jwks([env.jwtKey]), [`spiffe://${options.trustDomain}`]: jwks([key]) });
      }
      await expectJwtAccepted(
        env,
        signToken(key, {}, validClaims(sub)),
        options.reported ?? sub,
        `a token whose sub is the valid SPIFFE ID ${sub.length > 80 ? `${sub.slice(0, 60)}... (${sub.length} bytes)` : sub}`,
      );
    },
  };
}

const jwtCases: ConformanceCase[] = [
  ...INVALID_IDS.map((c): ConformanceCase => ({
    id: `ID-1/${c.name}`,
    level: 'MUST',
    title: 'Rejects invalid SPIFFE IDs',
    async run(env) {
      await jwtNegative(
        env,
        `ID-1/${c.name}`,
        signToken(env.jwtKey, {}, validClaims(c.id)),
        `a token whose sub is the invalid SPIFFE ID ${c.id}`,
      );
    },
  })),
  validIdCase('path-chars', `${TD_ID}/Path.With-Mixed_Case/a.b-c_D/..x/x..`),
  validIdCase('trust-domain-chars', 'spiffe://td_1.example-2.org/id-2', { trustDomain: 'td_1.example-2.org' }),
  validIdCase('ipv4-trust-domain', 'spiffe://192.168.1.1/id-2', { trustDomain: '192.168.1.1' }),
  validIdCase('max-length', maxLengthId()),
  validIdCase('mixed-case-trust-domain', 'spiffe://Test.Example.ORG/Id-2', { reported: `${TD_ID}/Id-2` }),
  validIdCase('upper-case-scheme', 'SPIFFE://test.example.org/id-2', { reported: `${TD_ID}/id-2` }),
];

const x509Cases: ConformanceCase[] = [
  ...INVALID_X509_IDS.map((c): ConformanceCase => ({
    id: `ID-1/${c.name}`,
    level: 'MUST',
    title: 'Rejects invalid SPIFFE IDs (X.509 URI SAN, server role)',
    async run(env) {
      const peer = env.ca.svid('/unused', { uris: [c.id] });
      const sans = uriSans(peer.leaf);
      if (sans.length !== 1 || sans[0] !== c.id)
        throw new Error(`fixture: the certificate carries ${JSON.stringify(sans)}, want [${JSON.stringify(c.id)}]`);
      await positiveControl(SERVER_ROLE, env);
      await expectRejected(SERVER_ROLE, env, peer, `a peer with the invalid SPIFFE ID ${c.id}`);
    },
  })),
  {
    id: 'ID-2/x509-mixed-case-trust-domain',
    level: 'MUST',
    title: 'Accepts valid edge-case SPIFFE IDs (X.509 URI SAN, server role)',
    async run(env) {
      const peer = env.ca.svid('/unused', { uris: ['spiffe://TEST.Example.org/Id-2'] });
      await expectAccepted(SERVER_ROLE, env, peer, 'a peer whose URI SAN has a mixed-case trust domain', `${TD_ID}/Id-2`);
    },
  },
];

conformanceGroup('ID', [...localValidation(jwtCases), ...x509Cases], { concurrency: 4 });
