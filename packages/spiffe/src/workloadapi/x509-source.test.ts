import { on } from 'node:events';
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { BundleError, WorkloadApiError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { WorkloadApiClient } from './client.js';
import type { X509Context } from './responses.js';
import { FakeAgent } from './testing/fake-agent.js';
import {
  type AgentAndClient,
  delay,
  hasCode,
  startAgentAndClient,
  stopAgentAndClient,
  TestTrustDomain,
  until,
} from './testing/fixtures.js';
import { X509Source } from './x509-source.js';

const example = TestTrustDomain.create('example.org');
const partner = TestTrustDomain.create('partner.org');
const EXAMPLE = TrustDomain.fromString('example.org');
const PARTNER = TrustDomain.fromString('partner.org');

let agent: FakeAgent;
let client: WorkloadApiClient;
let log: AgentAndClient['log'];
const sources: X509Source[] = [];

async function create(options: Parameters<typeof X509Source.create>[0] = {}): Promise<X509Source> {
  const source = await X509Source.create({ client, timeoutMs: 5000, ...options });
  sources.push(source);
  return source;
}

beforeEach(async () => {
  ({ agent, client, log } = await startAgentAndClient());
});

afterEach(() => stopAgentAndClient({ agent, client, log }, sources));

describe('X509Source', () => {
  it('resolves on the first SVID and serves it and the bundles', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web', '/db'], [partner]));
    const source = await create();
    assert.equal(source.getX509Svid().id.toString(), 'spiffe://example.org/web');
    assert.ok(source.getX509BundleForTrustDomain(EXAMPLE).hasAuthority(example.ca.certificate));
    assert.ok(source.getX509BundleForTrustDomain(PARTNER).hasAuthority(partner.ca.certificate));
    assert.deepEqual(
      source.x509Bundles().map((b) => b.trustDomain.name),
      ['example.org', 'partner.org'],
    );
    assert.throws(
      () => source.getX509BundleForTrustDomain(TrustDomain.fromString('nobody.org')),
      (err: unknown) => {
        assert.ok(err instanceof BundleError);
        assert.equal(err.code, 'ERR_BUNDLE_NOT_FOUND');
        return true;
      },
    );
    assert.equal(source.getX509Context().svids.length, 2);
  });

  it('follows rotations: update event, and node:events on() over it until close', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    const source = await create();
    const events: string[] = [];
    source.on('update', (ctx: X509Context) => events.push(ctx.svids[0]!.id.toString()));
    const iterated: string[] = [];
    const iterating = (async () => {
      for await (const [ctx] of on(source, 'update', { close: ['close'] })) iterated.push((ctx as X509Context).svids[0]!.id.toString());
    })();
    agent.setX509SvidResponse(example.x509Response(['/web-2']));
    await until(() => source.getX509Svid().id.path === '/web-2');
    agent.setX509SvidResponse(example.x509Response(['/web-3']));
    await until(() => iterated.length === 2);
    assert.deepEqual(events, ['spiffe://example.org/web-2', 'spiffe://example.org/web-3']);
    assert.deepEqual(iterated, events);
    await source.close();
    await iterating; // the iterator ends on close
  });

  it('picks an SVID with picker, or by hint', async () => {
    agent.setX509SvidResponse({ svids: [example.svid('/web', { hint: 'external' }), example.svid('/db', { hint: 'internal' })] });
    const picked = await create({ picker: (svids) => svids[svids.length - 1]! });
    assert.equal(picked.getX509Svid().id.path, '/db');
    const hinted = await create({ hint: 'external' });
    assert.equal(hinted.getX509Svid().id.path, '/web');
    await assert.rejects(create({ hint: 'x', picker: (s) => s[0]! }), TypeError);
    // A picker that fails serves nothing rather than a guess.
    await assert.rejects(
      create({
        timeoutMs: 200,
        picker: () => {
          throw new Error('no good SVID');
        },
      }),
      /last error was: X509Source: the picker threw: no good SVID/,
    );
  });

  it('times out waiting for a hint no SVID has, naming the hint', async () => {
    agent.setX509SvidResponse({ svids: [example.svid('/web', { hint: 'external' })] });
    await assert.rejects(create({ hint: 'internal', timeoutMs: 300 }), (err: unknown) => {
      hasCode('ERR_WORKLOADAPI_TIMEOUT')(err);
      assert.match((err as Error).message, /an X509-SVID with hint "internal"/);
      assert.match((err as Error).message, /last error was: X509Source: no SVID has hint "internal" \(hints received: "external"\)/);
      return true;
    });
  });

  it('create() times out with what to check and the last error', async () => {
    // The fake agent has no identity for us: PermissionDenied "no identity issued".
    const started = Date.now();
    await assert.rejects(create({ timeoutMs: 400 }), (err: unknown) => {
      assert.ok(err instanceof WorkloadApiError);
      assert.equal(err.code, 'ERR_WORKLOADAPI_TIMEOUT');
      const m = err.message;
      assert.match(m, /^workloadapi: X509Source\.create timed out after 400 ms waiting for an X509-SVID/);
      assert.ok(m.includes(`the socket path in use is ${agent.socketPath} (from the address option)`), m);
      assert.match(m, /an agent is running and listening there/);
      assert.match(m, /a registration entry matches this process/);
      if (typeof process.getuid === 'function') assert.ok(m.includes(`uid ${process.getuid()}`), m);
      assert.ok(m.includes(`user "${userInfo().username}"`), m);
      assert.match(m, /last error was: FetchX509SVID failed: PermissionDenied "no identity issued"/);
      return true;
    });
    assert.ok(Date.now() - started < 2000);
  });

  it('create() timeout names SPIFFE_ENDPOINT_SOCKET and says when no agent answers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'x509src-'));
    const saved = process.env['SPIFFE_ENDPOINT_SOCKET'];
    process.env['SPIFFE_ENDPOINT_SOCKET'] = `unix://${dir}/nothing.sock`;
    try {
      await assert.rejects(X509Source.create({ timeoutMs: 300, logger: log.logger }), (err: unknown) => {
        hasCode('ERR_WORKLOADAPI_TIMEOUT')(err);
        const m = (err as Error).message;
        assert.ok(m.includes(`the socket path in use is ${dir}/nothing.sock (from SPIFFE_ENDPOINT_SOCKET)`), m);
        assert.match(m, /last error was: FetchX509SVID failed: Unavailable/);
        return true;
      });
    } finally {
      if (saved === undefined) delete process.env['SPIFFE_ENDPOINT_SOCKET'];
      else process.env['SPIFFE_ENDPOINT_SOCKET'] = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('create() fails at once on InvalidArgument', async () => {
    agent.failAllCalls('FetchX509SVID', { code: status.INVALID_ARGUMENT, details: 'bad request' });
    const started = Date.now();
    await assert.rejects(create({ timeoutMs: 5000 }), hasCode('ERR_WORKLOADAPI_INVALID_ARGUMENT'));
    assert.ok(Date.now() - started < 2000);
    assert.equal(agent.callsTo('FetchX509SVID').length, 1);
  });

  it('create() rejects a bad address and bad options', async () => {
    await assert.rejects(X509Source.create({ address: 'tcp://localhost:1' }), hasCode('ERR_WORKLOADAPI_ADDRESS'));
    await assert.rejects(X509Source.create({ client, timeoutMs: -1 }), TypeError);
    await assert.rejects(X509Source.create({ client, address: agent.address }), TypeError);
    await assert.rejects(X509Source.create({ picker: 'first' as never, client }), TypeError);
  });

  it('survives the agent restarting mid-stream', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    const source = await create();
    await agent.stop();
    await delay(200);
    // While the agent is away, the last SVID is still served.
    assert.equal(source.getX509Svid().id.path, '/web');
    agent.setX509SvidResponse(example.x509Response(['/web-after-restart']));
    await agent.restart();
    await until(() => source.getX509Svid().id.path === '/web-after-restart', 5000);
    assert.ok(agent.callsTo('FetchX509SVID').length >= 2);
  });

  it('waits for an agent that starts after the source', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'x509src-'));
    const socketPath = join(dir, 'late.sock');
    const lateClient = new WorkloadApiClient({
      address: `unix://${socketPath}`,
      logger: log.logger,
      initialBackoffMs: 50,
      maxBackoffMs: 200,
    });
    let late: FakeAgent | undefined;
    try {
      const creating = X509Source.create({ client: lateClient, timeoutMs: 5000 });
      await delay(400);
      late = await FakeAgent.start({ socketPath });
      late.setX509SvidResponse(example.x509Response(['/late']));
      const source = await creating;
      sources.push(source);
      assert.equal(source.getX509Svid().id.path, '/late');
      assert.equal(log.matching('warn', /Unavailable/).length, 1);
    } finally {
      await Promise.all(sources.splice(0).map((s) => s.close()));
      lateClient.close();
      await late?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('withdraws the identity after PermissionDenied and restores it when reissued', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web'], [partner]));
    const source = await create();
    assert.equal(source.getX509Svid().id.path, '/web');
    agent.withdrawIdentity();
    await until(() => {
      try {
        source.getX509Svid();
        return false;
      } catch {
        return true;
      }
    });
    assert.throws(
      () => source.getX509Svid(),
      (err: unknown) => {
        hasCode('ERR_SVID_NOT_FOUND')(err);
        assert.match((err as Error).message, /withdrew this workload's identity/);
        return true;
      },
    );
    assert.throws(() => source.getX509BundleForTrustDomain(PARTNER), hasCode('ERR_BUNDLE_NOT_FOUND'));
    assert.equal(log.matching('warn', /identity withdrawn/).length, 1);
    agent.setX509SvidResponse(example.x509Response(['/web-again']));
    await until(() => {
      try {
        return source.getX509Svid().id.path === '/web-again';
      } catch {
        return false;
      }
    }, 5000);
  });

  it('never serves an SVID past its expiry', async () => {
    const notAfter = new Date(Math.floor(Date.now() / 1000) * 1000 + 2000);
    agent.setX509SvidResponse({ svids: [example.svid('/short', {}, notAfter)] });
    const source = await create();
    assert.equal(source.getX509Svid().id.path, '/short');
    await delay(notAfter.getTime() - Date.now() + 50);
    assert.throws(
      () => source.getX509Svid(),
      (err: unknown) => {
        hasCode('ERR_SVID_NOT_FOUND')(err);
        assert.match((err as Error).message, /expired at/);
        return true;
      },
    );
  });

  it('keeps the current SVID when a response is refused', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    const source = await create();
    agent.setX509SvidResponse({ svids: [example.svid('/web', { spiffe_id: 'spiffe://example.org/admin' })] });
    await until(() => log.matching('warn', /differs from the certificate's URI SAN/).length === 1);
    await delay(50);
    assert.equal(source.getX509Svid().id.path, '/web');
  });

  it('no longer trusts a federated trust domain dropped from a later response', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web'], [partner]));
    const source = await create();
    assert.ok(source.getX509BundleForTrustDomain(PARTNER));
    agent.setX509SvidResponse(example.x509Response(['/web']));
    await until(() => {
      try {
        source.getX509BundleForTrustDomain(PARTNER);
        return false;
      } catch (err) {
        return (err as BundleError).code === 'ERR_BUNDLE_NOT_FOUND';
      }
    });
    assert.ok(source.getX509BundleForTrustDomain(EXAMPLE));
  });

  it('close() is idempotent, ends the stream and makes getters throw ERR_SOURCE_CLOSED', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    const source = await create();
    let closedEvents = 0;
    source.on('close', () => closedEvents++);
    await Promise.all([source.close(), source.close()]);
    await source.close();
    assert.equal(closedEvents, 1);
    assert.equal(source.closed, true);
    assert.throws(() => source.getX509Svid(), hasCode('ERR_SOURCE_CLOSED'));
    assert.throws(() => source.getX509BundleForTrustDomain(EXAMPLE), hasCode('ERR_SOURCE_CLOSED'));
    assert.throws(() => source.getX509Context(), hasCode('ERR_SOURCE_CLOSED'));
    await until(() => agent.openStreams('FetchX509SVID') === 0);
    // A client passed in is not closed by the source.
    assert.equal(client.closed, false);
    assert.equal(source.closed, true);
  });

  it('closes the client it made itself', async () => {
    agent.setX509SvidResponse(example.x509Response(['/web']));
    const source = await X509Source.create({ address: agent.address, logger: log.logger });
    await source.close();
    await until(() => agent.openStreams('FetchX509SVID') === 0);
  });
});
