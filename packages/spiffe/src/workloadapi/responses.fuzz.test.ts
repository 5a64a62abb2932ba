/**
 * Property-based tests of what the Workload API client parses from outside: the endpoint address
 * (`SPIFFE_ENDPOINT_SOCKET`) and the agent's responses (X509-SVID, JWT bundle and JWT-SVID
 * messages built from valid pieces with any field corrupted, swapped or emptied). The property:
 * a WorkloadApiError, or a result where every SVID is what its message claims, chains to the
 * bundle of its own trust domain from the same message, and has not expired; and no more log
 * lines than there were things to discard.
 *
 * The parsers are internal, so this property lives with them in the library's own tests (a fixed
 * seed and few runs in `pnpm test`); `pnpm fuzz` runs it long with the soak's fuzz files.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { assertProperty, fixtureEntropy, mutatedBytes, params, typedOutcomes } from '@spiffe-node/test-kit/fuzz';
import { SpiffeError, WorkloadApiError } from '../errors.js';
import { SpiffeId, TrustDomain } from '../spiffeid/index.js';
import { JwtBundle, X509Bundle } from '../bundle/index.js';
import { parseAndVerifyX509Svid } from '../svid/x509/index.js';
import { TestCa } from '../testing/ca.js';
import { parseWorkloadApiAddress } from './address.js';
import type { WorkloadApiLogger } from './logger.js';
import type { X509SvidMessage } from './messages.js';
import { parseJwtBundlesResponse, parseJwtSvidResponse, parseX509SvidResponse } from './responses.js';
import { jwksBytes, signJwt } from './testing/fake-agent.js';

const { typedOutcome } = typedOutcomes(SpiffeError);

function countingLogger(): { logger: WorkloadApiLogger; lines: string[] } {
  const lines: string[] = [];
  const push = (m: string): void => {
    lines.push(m);
  };
  return { logger: { debug: () => undefined, info: push, warn: push, error: push }, lines };
}

describe('fuzz: Workload API endpoint addresses', () => {
  const scheme = fc.constantFrom('unix:', 'UNIX:', 'tcp:', 'TCP:', 'http:', '', 'unix', 'tcp');
  const slashes = fc.constantFrom('', '/', '//', '///', '////');
  const host = fc.oneof(
    fc.ipV4(),
    fc.ipV6().map((h) => `[${h}]`),
    fc.ipV6(),
    fc.constantFrom('localhost', 'agent.local', '', '[::1', '256.1.1.1', '1.2.3', 'user@1.2.3.4'),
  );
  const port = fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.constantFrom('', 'x', '08080', '-1', '1e3'));
  const path = fc
    .array(
      fc.oneof(fc.constantFrom('tmp', 'spire-agent', 'api.sock', '', '..', '%2F', '%zz', '%00', '?q', '#f'), fc.string({ maxLength: 6 })),
      { maxLength: 4 },
    )
    .map((segs) => segs.join('/'));
  const address = fc.oneof(
    fc
      .tuple(scheme, slashes, fc.option(host, { nil: undefined }), fc.option(port, { nil: undefined }), path)
      .map(([s, sl, h, p, pa]) => `${s}${sl}${h ?? ''}${p === undefined ? '' : `:${p}`}${pa === '' ? '' : `/${pa}`}`),
    fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  );
  it('parseWorkloadApiAddress: WorkloadApiError, or an absolute socket path or an IP address and a port in range', () => {
    assertProperty(
      fc.property(address, fc.constantFrom('option' as const, 'env' as const), (input, from) => {
        const outcome = typedOutcome(() => parseWorkloadApiAddress(input, from), 'parseWorkloadApiAddress');
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof WorkloadApiError, String(outcome.error));
          assert.equal(outcome.error.code, 'ERR_WORKLOADAPI_ADDRESS');
          if (from === 'env') assert.match(outcome.error.message, /SPIFFE_ENDPOINT_SOCKET=/);
          return;
        }
        const a = outcome.value;
        assert.equal(a.url, input);
        if (a.kind === 'unix') {
          assert.match(input, /^unix:/i);
          assert.ok(a.socketPath?.startsWith('/'), `absolute socket path: ${a.socketPath}`);
          assert.ok(!a.socketPath!.includes('\0') && !a.socketPath!.endsWith('/'), 'a file path');
          assert.equal(a.target, `unix://${a.socketPath}`);
        } else {
          assert.match(input, /^tcp:\/\//i);
          assert.ok(isIPv4(a.host!) || isIPv6(a.host!), `an IP address: ${a.host}`);
          assert.ok(Number.isInteger(a.port) && a.port! >= 1 && a.port! <= 65535, `port in range: ${a.port}`);
          assert.equal(a.target, isIPv6(a.host!) ? `ipv6:[${a.host}]:${a.port}` : `ipv4:${a.host}:${a.port}`);
        }
      }),
      params(500),
    );
  });
});

// ------------------------------------------------------------------------- X509SVIDResponse

// Every fixture is derived from the seed (see fixtureEntropy): a replayed seed mints the same bytes.
const entropy = fixtureEntropy('workloadapi');
const example = TestCa.create({ trustDomain: 'example.org', entropy });
const exampleMid = example.intermediate();
const partner = TestCa.create({ trustDomain: 'partner.org', entropy });
const web = exampleMid.svid('/web');
const db = example.svid('/db');
const partnerApi = partner.svid('/api');
const expiredSvid = example.svid('/old', { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') });
const otherExampleRoot = TestCa.create({ trustDomain: 'example.org', entropy });
const SOURCES = [web, db, partnerApi, expiredSvid];
const caOf = (id: string): TestCa => (id.startsWith('spiffe://partner.org') ? partner : example);

const der = (certs: readonly { raw: Buffer }[]): Uint8Array => new Uint8Array(Buffer.concat(certs.map((c) => c.raw)));
const bytesVariant = (valid: Uint8Array, others: Uint8Array[]): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(valid) },
    { weight: 2, arbitrary: mutatedBytes(valid) },
    { weight: 1, arbitrary: fc.constantFrom(new Uint8Array(0), ...others) },
  );

const svidMessage: fc.Arbitrary<X509SvidMessage> = fc.constantFrom(...SOURCES).chain((s) =>
  fc.record({
    spiffe_id: fc.oneof(
      { weight: 6, arbitrary: fc.constant(s.id) },
      { weight: 1, arbitrary: fc.constantFrom('', 'spiffe://example.org/other', 'not an id', s.id.toUpperCase(), 'spiffe://example.org') },
    ),
    x509_svid: bytesVariant(der(s.certificates), [der(db.certificates), der([example.certificate])]),
    x509_svid_key: bytesVariant(new Uint8Array(s.keyDer), [new Uint8Array(db.keyDer), new Uint8Array(s.keyDer.subarray(0, 30))]),
    bundle: bytesVariant(der([caOf(s.id).certificate]), [
      der([partner.certificate, example.certificate]),
      der([exampleMid.certificate]),
      der([otherExampleRoot.certificate]),
    ]),
    hint: fc.oneof(fc.constant(''), fc.string({ maxLength: 8 })),
  }),
);
const federatedKey = fc.constantFrom(
  'spiffe://partner.org',
  'partner.org',
  'spiffe://example.org',
  'spiffe://partner.org/workload',
  'not a td',
  'spiffe://Partner.ORG',
  '',
);
const federated = fc.dictionary(federatedKey, bytesVariant(der([partner.certificate]), [der([example.certificate])]), { maxKeys: 3 });

describe('fuzz: Workload API responses', () => {
  it('parseX509SvidResponse: WorkloadApiError, or SVIDs that are what they claim and chain to their own bundle', () => {
    assertProperty(
      fc.property(fc.array(svidMessage, { maxLength: 3 }), federated, (svids, federatedBundles) => {
        const log = countingLogger();
        const outcome = typedOutcome(
          () => parseX509SvidResponse({ svids, crl: [], federated_bundles: federatedBundles }, log.logger),
          'parseX509SvidResponse',
        );
        assert.ok(
          log.lines.length <= svids.length + Object.keys(federatedBundles).length + 1,
          `one line per discarded item at most:\n${log.lines.join('\n')}`,
        );
        for (const line of log.lines) assert.match(line, /^workloadapi: FetchX509SVID/);
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof WorkloadApiError, String(outcome.error));
          assert.equal(outcome.error.code, 'ERR_WORKLOADAPI_RESPONSE');
          return;
        }
        const ctx = outcome.value;
        assert.ok(ctx.svids.length >= 1 && ctx.svids.length <= svids.length, 'some SVIDs, no invented one');
        for (const svid of ctx.svids) {
          const from = svids.find((m) => {
            try {
              return (
                SpiffeId.fromString(m.spiffe_id).equals(svid.id) &&
                Buffer.from(m.x509_svid).subarray(0, svid.certificates[0]!.raw.length).equals(svid.certificates[0]!.raw)
              );
            } catch {
              return false;
            }
          });
          assert.ok(from, `SVID ${svid.id} comes from a message claiming it`);
          assert.ok(svid.expiresAt.getTime() > Date.now(), 'not expired');
          assert.ok(svid.certificates[0]!.checkPrivateKey(svid.privateKey), 'its key is its leaf key');
          const verified = parseAndVerifyX509Svid(svid.rawCertificates(), ctx.bundles);
          assert.ok(verified.id.equals(svid.id), 'it verifies against the bundles of the response');
          const own = ctx.bundles.getX509BundleForTrustDomain(svid.id.trustDomain);
          const firstOfTd = svids.find((m) => {
            try {
              return X509Bundle.parseRaw(svid.id.trustDomain, m.bundle).equals(own);
            } catch {
              return false;
            }
          });
          assert.ok(firstOfTd, "its own trust domain's bundle is one of the response's bundle fields, never a federated one");
        }
        for (const b of ctx.bundles.bundles()) {
          const isOwn = ctx.svids.some((s) => s.id.trustDomain.equals(b.trustDomain));
          const isFederated = Object.keys(federatedBundles).some((k) => {
            try {
              return TrustDomain.fromString(k).equals(b.trustDomain);
            } catch {
              return false;
            }
          });
          assert.ok(isOwn || isFederated, `bundle of ${b.trustDomain.name} comes from the response`);
        }
      }),
      params(300),
    );
  });

  const ecKey = entropy.keyPair('ec-p256');
  const validJwks = jwksBytes(new Map([['k1', ecKey.publicKey]]));
  it('parseJwtBundlesResponse: WorkloadApiError, or exactly the bundles whose key and JWKS are valid', () => {
    const value = fc.oneof(
      { weight: 4, arbitrary: fc.constant(new Uint8Array(validJwks)) },
      { weight: 2, arbitrary: mutatedBytes(validJwks) },
      { weight: 1, arbitrary: fc.json().map((j) => new Uint8Array(Buffer.from(j))) },
      { weight: 1, arbitrary: fc.constantFrom(new Uint8Array(0), new Uint8Array(Buffer.from('{"keys":[]}'))) },
    );
    const key = fc.oneof(federatedKey, fc.constantFrom('spiffe://example.org', 'example.org'), fc.string({ maxLength: 10 }));
    assertProperty(
      fc.property(fc.dictionary(key, value, { maxKeys: 4 }), (bundles) => {
        const log = countingLogger();
        const outcome = typedOutcome(() => parseJwtBundlesResponse({ bundles }, log.logger), 'parseJwtBundlesResponse');
        assert.ok(log.lines.length <= Object.keys(bundles).length + 1, log.lines.join('\n'));
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof WorkloadApiError, String(outcome.error));
          return;
        }
        for (const b of outcome.value.bundles()) {
          const entry = Object.entries(bundles).find(([k, v]) => {
            try {
              return TrustDomain.fromString(k).equals(b.trustDomain) && JwtBundle.parse(b.trustDomain, v).equals(b);
            } catch {
              return false;
            }
          });
          assert.ok(entry, `the bundle of ${b.trustDomain.name} is the valid JWKS given for it`);
        }
      }),
      params(300),
    );
  });

  it('parseJwtSvidResponse: WorkloadApiError, or tokens for the audience, unexpired, naming their spiffe_id', () => {
    const audience = ['spiffe://example.org/db'];
    const now = Math.floor(Date.now() / 1000);
    const token = fc
      .record({
        sub: fc.constantFrom('spiffe://example.org/web', 'spiffe://example.org/other', 'nope'),
        aud: fc.constantFrom<unknown>(audience, ['x'], audience[0], []),
        exp: fc.constantFrom(now + 300, now - 5, 'x'),
      })
      .map((claims) => signJwt(claims, ecKey.privateKey, 'k1'));
    const message = fc.record({
      spiffe_id: fc.constantFrom('spiffe://example.org/web', 'spiffe://example.org/other', '', 'bad id'),
      svid: fc.oneof({ weight: 4, arbitrary: token }, { weight: 1, arbitrary: fc.constantFrom('', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.') }),
      hint: fc.string({ maxLength: 5 }),
    });
    const subject = fc.constantFrom(undefined, SpiffeId.fromString('spiffe://example.org/web'));
    assertProperty(
      fc.property(fc.array(message, { maxLength: 3 }), subject, (svids, wanted) => {
        const log = countingLogger();
        const outcome = typedOutcome(() => parseJwtSvidResponse({ svids }, audience, wanted, log.logger), 'parseJwtSvidResponse');
        assert.ok(log.lines.length <= svids.length + 1, log.lines.join('\n'));
        if (!outcome.ok) {
          assert.ok(outcome.error instanceof WorkloadApiError, String(outcome.error));
          return;
        }
        for (const svid of outcome.value) {
          const from = svids.find((m) => m.svid === svid.token);
          assert.ok(from, 'the token is one of the response');
          assert.equal(svid.id.toString(), from.spiffe_id, 'it names its spiffe_id');
          if (wanted) assert.ok(svid.id.equals(wanted), 'the subject asked for');
          assert.ok(svid.audience.includes(audience[0]!), 'for the audience');
          assert.ok(svid.expiry.getTime() > Date.now(), 'unexpired');
          assert.equal(svid.hint, from.hint ?? '');
        }
      }),
      params(300),
    );
  });
});
