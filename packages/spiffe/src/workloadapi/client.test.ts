import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { SourceClosedError, WorkloadApiError } from '../errors.js';
import { SpiffeId, TrustDomain } from '../spiffeid/index.js';
import { parseAndValidateJwtSvid } from '../svid/jwt/index.js';
import { parseAndVerifyX509Svid } from '../svid/x509/index.js';
import { WorkloadApiClient } from './client.js';
import type { X509Context } from './responses.js';
import { FakeAgent, concatDer, signJwt } from './testing/fake-agent.js';
import { TestTrustDomain, delay, recordingLogger, until } from './testing/fixtures.js';

const example = TestTrustDomain.create('example.org');
const partner = TestTrustDomain.create('partner.org');
const other = TestTrustDomain.create('other.org');

let agent: FakeAgent;
let client: WorkloadApiClient;
let log: ReturnType<typeof recordingLogger>;

beforeEach(async () => {
  agent = await FakeAgent.start();
  log = recordingLogger();
  client = new WorkloadApiClient({ address: agent.address, logger: log.logger, initialBackoffMs: 50, maxBackoffMs: 400 });
});

afterEach(async () => {
  client.close();
  await agent.close();
});

function isWorkloadApiError(code: string, grpcCode?: number) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof WorkloadApiError, `expected a WorkloadApiError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (grpcCode !== undefined) assert.equal(err.grpcCode, grpcCode);
    assert.match(err.message, /^workloadapi: /);
    return true;
  };
}

describe('WorkloadApiClient: X.509', () => {
  it('fetches the default X509-SVID, sending the security header', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web', '/db']));
    const svid = await client.fetchX509Svid();
    assert.equal(svid.id.toString(), 'spiffe://example.org/web');
    const calls = agent.callsTo('FetchX509SVID');
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]?.metadata['workload.spiffe.io'], ['true']);
    // The SVID chains to the bundle of its trust domain.
    parseAndVerifyX509Svid(
      svid.certificates.map((c) => new Uint8Array(c.raw)),
      example.ca.bundle(),
    );
  });

  it('fetches every SVID in order, with hints', async () => {
    agent.setX509SvidResponse({
      svids: [example.svid('/web', { hint: 'external' }), example.svid('/db', { hint: 'internal' })],
    });
    const svids = await client.fetchX509Svids();
    assert.deepEqual(
      svids.map((s) => [s.id.toString(), s.hint]),
      [
        ['spiffe://example.org/web', 'external'],
        ['spiffe://example.org/db', 'internal'],
      ],
    );
  });

  it('fetches the X.509 context with own and federated bundles', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web'], [partner]));
    const ctx = await client.fetchX509Context();
    assert.equal(ctx.svids.length, 1);
    assert.equal(ctx.bundles.size, 2);
    const own = ctx.bundles.getX509BundleForTrustDomain(TrustDomain.fromString('example.org'));
    assert.ok(own.hasAuthority(example.ca.certificate));
    const fed = ctx.bundles.getX509BundleForTrustDomain(TrustDomain.fromString('partner.org'));
    assert.ok(fed.hasAuthority(partner.ca.certificate));
    assert.ok(!fed.hasAuthority(example.ca.certificate));
  });

  it('accepts a bare trust domain name as a bundle key and discards a key that is not a trust domain', async () => {
    agent.setX509SvidResponse({
      svids: [example.svid('/web')],
      federated_bundles: {
        'partner.org': concatDer([partner.ca.certificate]),
        'spiffe://other.org/not/a/td': concatDer([other.ca.certificate]),
      },
    });
    const ctx = await client.fetchX509Context();
    assert.ok(ctx.bundles.has(TrustDomain.fromString('partner.org')));
    assert.ok(!ctx.bundles.has(TrustDomain.fromString('other.org')));
    assert.equal(log.matching('warn', /not a trust domain ID/).length, 1);
  });

  it('fetches X.509 bundles', async () => {
    agent.setX509BundlesResponse({ bundles: example.x509Bundles([partner]) });
    const set = await client.fetchX509Bundles();
    assert.equal(set.size, 2);
    assert.ok(set.getX509BundleForTrustDomain(TrustDomain.fromString('partner.org')).hasAuthority(partner.ca.certificate));
    assert.deepEqual(agent.callsTo('FetchX509Bundles')[0]?.metadata['workload.spiffe.io'], ['true']);
  });

  it('rejects a fetch with PermissionDenied as a coded error', async () => {
    await assert.rejects(client.fetchX509Svid(), isWorkloadApiError('ERR_WORKLOADAPI_PERMISSION_DENIED', status.PERMISSION_DENIED));
    await assert.rejects(client.fetchX509Svid(), /PermissionDenied "no identity issued"; check that a registration entry matches/);
  });

  it('rejects a fetch when no agent listens (Unavailable)', async () => {
    await agent.stop();
    await assert.rejects(client.fetchX509Svid(), isWorkloadApiError('ERR_WORKLOADAPI_UNAVAILABLE', status.UNAVAILABLE));
  });

  it('rejects calls after close', async () => {
    client.close();
    client.close();
    assert.equal(client.closed, true);
    await assert.rejects(client.fetchX509Svid(), (err: unknown) => err instanceof SourceClosedError && err.code === 'ERR_SOURCE_CLOSED');
  });
});

describe('WorkloadApiClient: response validation', () => {
  const now = Date.now();
  const keyOfAnother = example.ca.svid('/another').keyDer;
  // Each invalid SVID is sent together with a valid one: the valid one is served, the invalid one
  // is discarded with exactly one logged reason.
  const invalid: { name: string; svid: () => ReturnType<TestTrustDomain['svid']>; reason: RegExp }[] = [
    { name: 'empty spiffe_id', svid: () => example.svid('/bad', { spiffe_id: '' }), reason: /spiffe_id field is empty/ },
    { name: 'empty x509_svid', svid: () => example.svid('/bad', { x509_svid: Buffer.alloc(0) }), reason: /x509_svid field is empty/ },
    { name: 'empty key', svid: () => example.svid('/bad', { x509_svid_key: Buffer.alloc(0) }), reason: /x509_svid_key field is empty/ },
    { name: 'empty bundle', svid: () => example.svid('/bad', { bundle: Buffer.alloc(0) }), reason: /bundle field is empty/ },
    {
      name: 'key of another certificate',
      svid: () => example.svid('/bad', { x509_svid_key: keyOfAnother }),
      reason: /private key does not match/,
    },
    {
      name: 'spiffe_id differing from the URI SAN',
      svid: () => example.svid('/bad', { spiffe_id: 'spiffe://example.org/admin' }),
      reason: /spiffe_id spiffe:\/\/example\.org\/admin differs from the certificate's URI SAN spiffe:\/\/example\.org\/bad/,
    },
    {
      name: 'spiffe_id that is no SPIFFE ID',
      svid: () => example.svid('/bad', { spiffe_id: 'https://example.org/bad' }),
      reason: /not a SPIFFE ID/,
    },
    {
      name: 'CA certificate as the leaf',
      svid: () => ({
        ...example.svid('/bad'),
        x509_svid: concatDer([example.ca.certificate]),
        x509_svid_key: example.ca.keyDer,
        spiffe_id: 'spiffe://example.org',
      }),
      reason: /x509svid: /,
    },
    {
      name: 'garbage certificate bytes',
      svid: () => example.svid('/bad', { x509_svid: Buffer.from('not DER at all') }),
      reason: /x509svid: /,
    },
    { name: 'garbage bundle bytes', svid: () => example.svid('/bad', { bundle: Buffer.from('not DER') }), reason: /bundle is invalid/ },
    {
      name: 'expired leaf',
      svid: () => ({
        ...example.svid('/bad'),
        ...(() => {
          const s = example.ca.svid('/bad', { notBefore: new Date(now - 7200_000), notAfter: new Date(now - 3600_000) });
          return { x509_svid: concatDer(s.certificates), x509_svid_key: s.keyDer };
        })(),
      }),
      reason: /expired at/,
    },
  ];
  for (const c of invalid) {
    it(`discards an SVID with ${c.name}, serving the valid one`, async () => {
      agent.setX509SvidResponse({ svids: [c.svid(), example.svid('/good')] });
      const svids = await client.fetchX509Svids();
      assert.deepEqual(
        svids.map((s) => s.id.toString()),
        ['spiffe://example.org/good'],
      );
      const reasons = log.matching('warn', /discarded SVID #0/);
      assert.equal(reasons.length, 1, JSON.stringify(log.lines));
      assert.match(reasons[0]!.message, c.reason);
      assert.equal(log.matching('warn', /SVID #1/).length, 0);
    });

    it(`refuses a response whose only SVID has ${c.name}`, async () => {
      agent.setX509SvidResponse({ svids: [c.svid()] });
      await assert.rejects(client.fetchX509Svid(), (err: unknown) => {
        isWorkloadApiError('ERR_WORKLOADAPI_RESPONSE')(err);
        assert.match((err as Error).message, /no usable|every SVID was invalid/);
        assert.match((err as Error).message, c.reason);
        return true;
      });
    });
  }

  it('refuses a response with no SVID at all', async () => {
    agent.setX509SvidResponse({ svids: [] });
    await assert.rejects(client.fetchX509Svid(), /ignored: it holds no SVID/);
    assert.equal(log.matching('warn', /holds no SVID/).length, 1);
  });

  it('discards an empty or malformed federated bundle, keeping the others', async () => {
    agent.setX509SvidResponse({
      svids: [example.svid('/web')],
      federated_bundles: {
        [partner.id]: concatDer([partner.ca.certificate]),
        [other.id]: Buffer.from('garbage'),
        'spiffe://empty.org': Buffer.alloc(0),
      },
    });
    const ctx = await client.fetchX509Context();
    assert.deepEqual(
      ctx.bundles
        .bundles()
        .map((b) => b.trustDomain.name)
        .sort(),
      ['example.org', 'partner.org'],
    );
    assert.equal(log.matching('warn', /other\.org/).length, 1);
    assert.equal(log.matching('warn', /empty\.org.*empty/).length, 1);
  });

  it('refuses a bundles response with no bundle', async () => {
    agent.setX509BundlesResponse({ bundles: {} });
    await assert.rejects(client.fetchX509Bundles(), isWorkloadApiError('ERR_WORKLOADAPI_RESPONSE'));
    agent.setJwtBundlesResponse({ bundles: {} });
    await assert.rejects(client.fetchJwtBundles(), isWorkloadApiError('ERR_WORKLOADAPI_RESPONSE'));
  });
});

describe('WorkloadApiClient: watching', () => {
  function collectingWatcher() {
    const updates: X509Context[] = [];
    const errors: WorkloadApiError[] = [];
    return {
      updates,
      errors,
      watcher: {
        onX509ContextUpdate: (ctx: X509Context) => updates.push(ctx),
        onX509ContextWatchError: (err: WorkloadApiError) => errors.push(err),
      },
    };
  }

  it('receives the first state and every rotation pushed', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    const w = collectingWatcher();
    const controller = new AbortController();
    const done = client.watchX509Context(w.watcher, controller.signal);
    await until(() => w.updates.length === 1);
    agent.setX509SvidResponse(example.x509Response(['/web-rotated']));
    await until(() => w.updates.length === 2);
    agent.setX509SvidResponse(example.x509Response(['/web-rotated-again']));
    await until(() => w.updates.length === 3);
    assert.deepEqual(
      w.updates.map((u) => u.svids[0]?.id.toString()),
      ['spiffe://example.org/web', 'spiffe://example.org/web-rotated', 'spiffe://example.org/web-rotated-again'],
    );
    assert.equal(agent.callsTo('FetchX509SVID').length, 1, 'one stream carried every update');
    controller.abort();
    await done;
    assert.equal(w.errors.length, 0);
  });

  it('does not retry after InvalidArgument: exactly one call, the watcher gets the error, the promise rejects', async () => {
    agent.failAllCalls('FetchX509SVID', { code: status.INVALID_ARGUMENT, details: 'security header missing from request' });
    const w = collectingWatcher();
    const controller = new AbortController();
    await assert.rejects(
      client.watchX509Context(w.watcher, controller.signal),
      isWorkloadApiError('ERR_WORKLOADAPI_INVALID_ARGUMENT', status.INVALID_ARGUMENT),
    );
    await delay(400);
    assert.equal(agent.callsTo('FetchX509SVID').length, 1);
    assert.equal(w.errors.length, 1);
    assert.equal(w.errors[0]?.grpcCode, status.INVALID_ARGUMENT);
    assert.equal(log.matching('error', /not retrying/).length, 1);
  });

  it('does not retry after Unimplemented', async () => {
    agent.failAllCalls('FetchJWTBundles', { code: status.UNIMPLEMENTED, details: 'not here' });
    const errors: WorkloadApiError[] = [];
    await assert.rejects(
      client.watchJwtBundles(
        { onJwtBundlesUpdate: () => undefined, onJwtBundlesWatchError: (e) => errors.push(e) },
        new AbortController().signal,
      ),
      isWorkloadApiError('ERR_WORKLOADAPI_RPC', status.UNIMPLEMENTED),
    );
    await delay(400);
    assert.equal(agent.callsTo('FetchJWTBundles').length, 1);
    assert.equal(errors.length, 1);
  });

  it('backs off after Unavailable: a bounded number of calls, one log line, then recovers', async () => {
    agent.failAllCalls('FetchX509SVID', { code: status.UNAVAILABLE, details: 'agent busy' });
    agent.setX509SvidResponse(example.x509Response(['/web']));
    const w = collectingWatcher();
    const controller = new AbortController();
    const done = client.watchX509Context(w.watcher, controller.signal);
    await delay(1200);
    const calls = agent.callsTo('FetchX509SVID').length;
    // Delays 25-50, 50-100, 100-200, then 200-400 ms: about 5 to 9 attempts in 1.2 s. A tight loop
    // would make hundreds.
    assert.ok(calls >= 3 && calls <= 12, `expected a bounded number of attempts, got ${calls}`);
    assert.equal(w.errors.length, calls, 'each failure is reported to the watcher');
    assert.ok(w.errors.every((e) => e.code === 'ERR_WORKLOADAPI_UNAVAILABLE'));
    assert.equal(log.matching('warn', /Unavailable "agent busy"/).length, 1, 'one log line per distinct failure');
    agent.failAllCalls('FetchX509SVID', undefined);
    await until(() => w.updates.length === 1, 3000);
    assert.equal(log.matching('info', /receiving updates again/).length, 1);
    controller.abort();
    await done;
  });

  it('retries PermissionDenied, logging it once, until an identity is issued', async () => {
    const w = collectingWatcher();
    const controller = new AbortController();
    const done = client.watchX509Context(w.watcher, controller.signal);
    await agent.waitForCalls('FetchX509SVID', 3);
    assert.ok(w.errors.every((e) => e.code === 'ERR_WORKLOADAPI_PERMISSION_DENIED'));
    agent.setX509SvidResponse(example.x509Response(['/web']));
    await until(() => w.updates.length === 1, 3000);
    assert.equal(log.matching('warn', /PermissionDenied "no identity issued"/).length, 1);
    controller.abort();
    await done;
  });

  it('reopens a stream the server ended normally', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    const w = collectingWatcher();
    const controller = new AbortController();
    const done = client.watchX509Context(w.watcher, controller.signal);
    await until(() => w.updates.length === 1);
    agent.endStreams('FetchX509SVID');
    await until(() => w.updates.length === 2, 3000);
    assert.equal(agent.callsTo('FetchX509SVID').length, 2);
    assert.equal(w.errors.length, 1);
    assert.match(w.errors[0]!.message, /ended by the server/);
    controller.abort();
    await done;
  });

  it('retries a stream the server cancelled', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    const w = collectingWatcher();
    const controller = new AbortController();
    const done = client.watchX509Context(w.watcher, controller.signal);
    await until(() => w.updates.length === 1);
    agent.failStreams('FetchX509SVID', { code: status.CANCELLED, details: 'server going away' });
    await until(() => w.updates.length === 2, 3000);
    assert.equal(w.errors[0]?.grpcCode, status.CANCELLED);
    controller.abort();
    await done;
  });

  it('reports a refused response to the watcher and keeps the stream', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    const w = collectingWatcher();
    const controller = new AbortController();
    const done = client.watchX509Context(w.watcher, controller.signal);
    await until(() => w.updates.length === 1);
    agent.setX509SvidResponse({ svids: [example.svid('/web', { spiffe_id: 'spiffe://example.org/evil' })] });
    await until(() => w.errors.length === 1);
    assert.equal(w.errors[0]?.code, 'ERR_WORKLOADAPI_RESPONSE');
    agent.setX509SvidResponse(example.x509Response(['/web2']));
    await until(() => w.updates.length === 2);
    assert.equal(w.updates[1]?.svids[0]?.id.toString(), 'spiffe://example.org/web2');
    assert.equal(agent.callsTo('FetchX509SVID').length, 1);
    controller.abort();
    await done;
  });

  it('no longer trusts a federated trust domain dropped from a later response', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web'], [partner]));
    const w = collectingWatcher();
    const controller = new AbortController();
    const done = client.watchX509Context(w.watcher, controller.signal);
    await until(() => w.updates.length === 1);
    assert.ok(w.updates[0]?.bundles.has(TrustDomain.fromString('partner.org')));
    agent.setX509SvidResponse(example.x509Response(['/web']));
    await until(() => w.updates.length === 2);
    assert.ok(!w.updates[1]?.bundles.has(TrustDomain.fromString('partner.org')));
    assert.throws(
      () => w.updates[1]!.bundles.getX509BundleForTrustDomain(TrustDomain.fromString('partner.org')),
      (err: unknown) => (err as { code?: string }).code === 'ERR_BUNDLE_NOT_FOUND',
    );
    controller.abort();
    await done;
  });

  it('ends every watch when the client closes', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    agent.setJwtBundlesResponse({ bundles: example.jwtBundles() });
    const w = collectingWatcher();
    const x509 = client.watchX509Context(w.watcher, new AbortController().signal);
    const jwt = client.watchJwtBundles(
      { onJwtBundlesUpdate: () => undefined, onJwtBundlesWatchError: () => undefined },
      new AbortController().signal,
    );
    await agent.waitForOpenStreams('FetchX509SVID', 1);
    await agent.waitForOpenStreams('FetchJWTBundles', 1);
    client.close();
    await Promise.all([x509, jwt]);
    await until(() => agent.openStreams('FetchX509SVID') === 0 && agent.openStreams('FetchJWTBundles') === 0);
  });

  it('watches X.509 bundles', async () => {
    agent.setX509BundlesResponse({ bundles: example.x509Bundles([partner]) });
    const sets: number[] = [];
    const controller = new AbortController();
    const done = client.watchX509Bundles(
      { onX509BundlesUpdate: (s) => sets.push(s.size), onX509BundlesWatchError: () => undefined },
      controller.signal,
    );
    await until(() => sets.length === 1);
    agent.setX509BundlesResponse({ bundles: example.x509Bundles() });
    await until(() => sets.length === 2);
    assert.deepEqual(sets, [2, 1]);
    controller.abort();
    await done;
  });

  it('rejects misuse with TypeError', async () => {
    await assert.rejects(client.watchX509Context({} as never, new AbortController().signal), TypeError);
    await assert.rejects(
      client.watchX509Context({ onX509ContextUpdate: () => undefined, onX509ContextWatchError: () => undefined }, undefined as never),
      TypeError,
    );
  });
});

describe('WorkloadApiClient: JWT', () => {
  it('fetches a JWT-SVID for the audience, sending the header and the request fields', async () => {
    agent.setJwtIssuer(example.jwtIssuer(['/web', '/db']));
    const svid = await client.fetchJwtSvid({ audience: ['spiffe://example.org/api', 'extra'] });
    assert.equal(svid.id.toString(), 'spiffe://example.org/web');
    assert.deepEqual([...svid.audience], ['spiffe://example.org/api', 'extra']);
    const [call] = agent.callsTo('FetchJWTSVID');
    assert.deepEqual(call?.metadata['workload.spiffe.io'], ['true']);
    assert.deepEqual(call?.request, { audience: ['spiffe://example.org/api', 'extra'], spiffe_id: '' });
    // The token verifies with the JWT bundle the agent serves.
    agent.setJwtBundlesResponse({ bundles: example.jwtBundles() });
    const bundles = await client.fetchJwtBundles();
    const validated = await parseAndValidateJwtSvid(svid.token, bundles, ['spiffe://example.org/api']);
    assert.equal(validated.id.toString(), 'spiffe://example.org/web');
  });

  it('fetches the JWT-SVID of a chosen subject, or all of them', async () => {
    agent.setJwtIssuer(example.jwtIssuer(['/web', '/db']));
    const db = await client.fetchJwtSvid({ audience: 'a', subject: SpiffeId.fromString('spiffe://example.org/db') });
    assert.equal(db.id.toString(), 'spiffe://example.org/db');
    assert.equal((agent.callsTo('FetchJWTSVID')[0]?.request as { spiffe_id: string }).spiffe_id, 'spiffe://example.org/db');
    const all = await client.fetchJwtSvids({ audience: 'a' });
    assert.deepEqual(
      all.map((s) => s.id.toString()),
      ['spiffe://example.org/web', 'spiffe://example.org/db'],
    );
  });

  it('rejects an empty audience with TypeError before any call', async () => {
    for (const audience of ['', [], [''], [1]] as unknown[]) {
      await assert.rejects(client.fetchJwtSvid({ audience } as never), TypeError);
    }
    assert.equal(agent.callsTo('FetchJWTSVID').length, 0);
  });

  it('discards a token whose sub differs from spiffe_id, or that is expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = signJwt({ sub: 'spiffe://example.org/web', aud: ['a'], exp: now + 300 }, example.jwtKey.privateKey, example.kid);
    const expired = signJwt({ sub: 'spiffe://example.org/web', aud: ['a'], exp: now - 10 }, example.jwtKey.privateKey, example.kid);
    agent.setJwtSvidHandler(() => ({
      svids: [
        { spiffe_id: 'spiffe://example.org/admin', svid: good },
        { spiffe_id: 'spiffe://example.org/web', svid: expired },
        { spiffe_id: 'spiffe://example.org/web', svid: '' },
        { spiffe_id: 'spiffe://example.org/web', svid: good, hint: 'h' },
      ],
    }));
    const svids = await client.fetchJwtSvids({ audience: 'a' });
    assert.equal(svids.length, 1);
    assert.equal(svids[0]?.hint, 'h');
    assert.equal(log.matching('warn', /discarded JWT-SVID #0.*differs from the token's sub/).length, 1);
    assert.equal(log.matching('warn', /discarded JWT-SVID #1/).length, 1);
    assert.equal(log.matching('warn', /discarded JWT-SVID #2.*svid field is empty/).length, 1);
    agent.setJwtSvidHandler(() => ({ svids: [{ spiffe_id: 'spiffe://example.org/admin', svid: good }] }));
    await assert.rejects(client.fetchJwtSvid({ audience: 'a' }), isWorkloadApiError('ERR_WORKLOADAPI_RESPONSE'));
  });

  it('fetches JWT bundles keyed by trust domain', async () => {
    agent.setJwtBundlesResponse({ bundles: example.jwtBundles([partner]) });
    const set = await client.fetchJwtBundles();
    assert.equal(set.size, 2);
    const bundle = set.getJwtBundleForTrustDomain(TrustDomain.fromString('partner.org'));
    assert.ok(bundle.findJwtAuthority(partner.kid));
  });

  it('watches JWT bundles and drops a trust domain missing from a later update', async () => {
    agent.setJwtBundlesResponse({ bundles: example.jwtBundles([partner]) });
    const seen: string[][] = [];
    const controller = new AbortController();
    const done = client.watchJwtBundles(
      {
        onJwtBundlesUpdate: (s) =>
          seen.push(
            s
              .bundles()
              .map((b) => b.trustDomain.name)
              .sort(),
          ),
        onJwtBundlesWatchError: () => undefined,
      },
      controller.signal,
    );
    await until(() => seen.length === 1);
    agent.setJwtBundlesResponse({ bundles: example.jwtBundles() });
    await until(() => seen.length === 2);
    assert.deepEqual(seen, [['example.org', 'partner.org'], ['example.org']]);
    controller.abort();
    await done;
  });

  it('validates a JWT-SVID through the agent', async () => {
    agent.setJwtIssuer(example.jwtIssuer(['/web']));
    const token = (await client.fetchJwtSvid({ audience: 'spiffe://example.org/api' })).token;
    const svid = await client.validateJwtSvid(token, 'spiffe://example.org/api');
    assert.equal(svid.id.toString(), 'spiffe://example.org/web');
    assert.deepEqual(agent.callsTo('ValidateJWTSVID')[0]?.request, { audience: 'spiffe://example.org/api', svid: token });
    assert.deepEqual(agent.callsTo('ValidateJWTSVID')[0]?.metadata['workload.spiffe.io'], ['true']);
  });

  it('rejects a token the agent refuses, and a response naming another ID', async () => {
    agent.setJwtIssuer(example.jwtIssuer(['/web']));
    const token = (await client.fetchJwtSvid({ audience: 'a' })).token;
    await assert.rejects(
      client.validateJwtSvid(token, 'b'),
      isWorkloadApiError('ERR_WORKLOADAPI_INVALID_ARGUMENT', status.INVALID_ARGUMENT),
    );
    const forged = signJwt(
      { sub: 'spiffe://example.org/web', aud: 'a', exp: Math.floor(Date.now() / 1000) + 60 },
      partner.jwtKey.privateKey,
      'x',
    );
    await assert.rejects(client.validateJwtSvid(forged, 'a'), /signature is invalid/);
    agent.setValidateJwtSvidHandler(() => ({ spiffe_id: 'spiffe://example.org/admin', claims: { fields: {} } }));
    await assert.rejects(client.validateJwtSvid(token, 'a'), isWorkloadApiError('ERR_WORKLOADAPI_RESPONSE'));
    await assert.rejects(client.validateJwtSvid('', 'a'), TypeError);
  });
});

describe('WorkloadApiClient: construction', () => {
  it('reads SPIFFE_ENDPOINT_SOCKET', async () => {
    const saved = process.env['SPIFFE_ENDPOINT_SOCKET'];
    process.env['SPIFFE_ENDPOINT_SOCKET'] = agent.address;
    try {
      const c = new WorkloadApiClient({ logger: log.logger });
      assert.equal(c.address.from, 'env');
      agent.setX509SvidResponse(example.x509Response(['/web']));
      assert.equal((await c.fetchX509Svid()).id.toString(), 'spiffe://example.org/web');
      c.close();
    } finally {
      if (saved === undefined) delete process.env['SPIFFE_ENDPOINT_SOCKET'];
      else process.env['SPIFFE_ENDPOINT_SOCKET'] = saved;
    }
  });

  it('throws the address error for a bad address', () => {
    assert.throws(() => new WorkloadApiClient({ address: 'unix:relative.sock' }), isWorkloadApiError('ERR_WORKLOADAPI_ADDRESS'));
  });

  it('rejects bad backoff options with TypeError', () => {
    assert.throws(() => new WorkloadApiClient({ address: agent.address, initialBackoffMs: 0 }), TypeError);
    assert.throws(() => new WorkloadApiClient({ address: agent.address, initialBackoffMs: 500, maxBackoffMs: 100 }), TypeError);
  });
});
