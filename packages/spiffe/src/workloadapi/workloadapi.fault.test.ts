/**
 * Fault injection on the Workload API: for every way an agent can misbehave (a stream cut in the
 * middle of a message, a stream ended cleanly, Unavailable for a while, PermissionDenied, a stall
 * before the first message, and every kind of malformed response), the sources must
 *
 * - never crash and never leave an unhandled rejection,
 * - never spin (attempts are spaced by the backoff floor, and bounded),
 * - keep serving the last good SVID until it expires, and never past it,
 * - withdraw the identity after PermissionDenied,
 * - log one clear line per fault, not one per retry.
 *
 * Each case runs against a real gRPC server on a temporary Unix socket: the {@link FakeAgent}, or
 * for the faults it cannot script, a raw HTTP/2 server that speaks just enough gRPC to cut a
 * message in half, or a grpc-js server that accepts calls and never answers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { JwtSvidError, WorkloadApiError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { parseAndValidateJwtSvid } from '../svid/jwt/index.js';
import { WorkloadApiClient } from './client.js';
import { JwtSource } from './jwt-source.js';
import type { WorkloadApiLogger } from './logger.js';
import type { X509SvidMessage, X509SvidResponseMessage } from './messages.js';
import { workloadServiceDefinition } from './proto.js';
import { FakeAgent, concatDer, jwksBytes, x509SvidMessage, type WorkloadApiMethod } from './testing/fake-agent.js';
import { TestTrustDomain, delay, until } from './testing/fixtures.js';
import { X509Source } from './x509-source.js';

const INITIAL_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 400;
/** No two attempts may be closer than this: half the initial backoff (the jitter floor). */
const FLOOR_MS = INITIAL_BACKOFF_MS / 2;
/** Lifetime of the "last good" SVID; certificate times have one-second resolution. */
const SVID_LIFE_MS = 3_000;

const example = TestTrustDomain.create('example.org');
const EXAMPLE = TrustDomain.fromString('example.org');
const AUDIENCE = 'spiffe://example.org/api';

// ------------------------------------------------------------------------------ global watch

const unhandled: unknown[] = [];
const uncaught: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
const onUncaught = (err: unknown): void => {
  uncaught.push(err);
};
before(() => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtExceptionMonitor', onUncaught);
});
after(() => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtExceptionMonitor', onUncaught);
  assert.deepEqual(unhandled, [], 'no unhandled rejection in any fault case');
  assert.deepEqual(uncaught, [], 'no uncaught exception in any fault case');
});

// ----------------------------------------------------------------------------------- helpers

interface TimedLine {
  at: number;
  level: keyof WorkloadApiLogger;
  message: string;
}

function timedLogger(): { logger: WorkloadApiLogger; lines: TimedLine[]; loud(): TimedLine[] } {
  const lines: TimedLine[] = [];
  const at = (level: keyof WorkloadApiLogger) => (message: string) => {
    lines.push({ at: Date.now(), level, message });
  };
  return {
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    lines,
    loud: () => lines.filter((l) => l.level === 'warn' || l.level === 'error'),
  };
}

function describeLines(lines: readonly TimedLine[]): string {
  return lines.map((l) => `  [${l.level}] ${l.message}`).join('\n') || '  (none)';
}

/** An X509SVID message for /web that expires `SVID_LIFE_MS` from now. */
function shortLivedSvid(): X509SvidMessage {
  return example.svid('/web', {}, new Date(Date.now() + SVID_LIFE_MS));
}

function response(...svids: X509SvidMessage[]): X509SvidResponseMessage {
  return { svids, crl: [], federated_bundles: {} };
}

function serialOf(source: X509Source): string {
  return source.getX509Svid().certificates[0]!.serialNumber;
}

/** Asserts that no two attempts are closer than the backoff floor and that they are few. */
function assertNoSpin(times: readonly number[], maxAttempts: number, what: string): void {
  assert.ok(times.length <= maxAttempts, `${what}: ${times.length} attempts, at most ${maxAttempts} expected`);
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    // A few ms of timer slack; a tight loop would show gaps of 0-2 ms.
    assert.ok(gap >= FLOOR_MS - 5, `${what}: attempts ${i} and ${i + 1} only ${gap} ms apart (floor ${FLOOR_MS} ms)`);
  }
}

/** Waits until the served SVID has expired, then asserts that it is no longer served. */
async function assertNotServedPastExpiry(source: X509Source, expiresAt: Date): Promise<void> {
  const wait = expiresAt.getTime() - Date.now();
  if (wait > 0) {
    // Until the last millisecond of its life, the SVID is still served.
    await delay(Math.max(0, wait - 150));
    if (expiresAt.getTime() - Date.now() > 20) assert.equal(source.getX509Svid().expiresAt.getTime(), expiresAt.getTime());
    await delay(Math.max(0, expiresAt.getTime() - Date.now()) + 20);
  }
  assert.throws(
    () => source.getX509Svid(),
    (err: unknown) => err instanceof WorkloadApiError && err.code === 'ERR_SVID_NOT_FOUND' && /expired/.test(err.message),
  );
}

function newClient(address: string, logger: WorkloadApiLogger): WorkloadApiClient {
  return new WorkloadApiClient({ address, logger, initialBackoffMs: INITIAL_BACKOFF_MS, maxBackoffMs: MAX_BACKOFF_MS });
}

/** A FakeAgent with a client and an X509Source holding a good short-lived SVID. */
async function x509Rig(): Promise<{
  agent: FakeAgent;
  client: WorkloadApiClient;
  source: X509Source;
  log: ReturnType<typeof timedLogger>;
  expiresAt: Date;
  serial: string;
  updates: number;
  close(): Promise<void>;
}> {
  const agent = await FakeAgent.start();
  const log = timedLogger();
  const client = newClient(agent.address, log.logger);
  agent.setX509SvidResponse(response(shortLivedSvid()));
  const source = await X509Source.create({ client, timeoutMs: 5000 });
  const rig = {
    agent,
    client,
    source,
    log,
    expiresAt: source.getX509Svid().expiresAt,
    serial: serialOf(source),
    updates: 0,
    close: async () => {
      await source.close();
      client.close();
      await agent.close();
    },
  };
  source.on('update', () => rig.updates++);
  return rig;
}

function callTimes(agent: FakeAgent, method: WorkloadApiMethod): number[] {
  return agent.callsTo(method).map((c) => c.receivedAt);
}

// ------------------------------------------------------------- servers the FakeAgent cannot be

/**
 * A raw HTTP/2 server speaking just enough gRPC: each `FetchX509SVID` stream gets one complete
 * message, then, after `cutAfterMs`, the first bytes of a second message (its length prefix
 * promises far more) and an RST_STREAM. With `partialFirst` even the first message is cut.
 */
async function startCuttingServer(
  socketPath: string,
  first: X509SvidResponseMessage,
  options: { cutAfterMs: number; partialFirst?: boolean },
): Promise<{ attempts: number[]; cuts: number; close(): Promise<void> }> {
  const def = workloadServiceDefinition()['FetchX509SVID']!;
  const body = def.responseSerialize(first);
  const frame = (payload: Buffer): Buffer => {
    const prefix = Buffer.alloc(5);
    prefix.writeUInt8(0, 0);
    prefix.writeUInt32BE(payload.length, 1);
    return Buffer.concat([prefix, payload]);
  };
  const state = { attempts: [] as number[], cuts: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (headers[':path'] !== '/SpiffeWorkloadAPI/FetchX509SVID') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
      return;
    }
    state.attempts.push(Date.now());
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    const cut = (): void => {
      if (stream.destroyed) return;
      // A length prefix promising the whole message, then only 7 bytes of it.
      stream.write(frame(body).subarray(0, 12));
      state.cuts++;
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    };
    if (options.partialFirst) {
      cut();
      return;
    }
    stream.write(frame(body));
    const timer = setTimeout(() => {
      timers.delete(timer);
      cut();
    }, options.cutAfterMs);
    timers.add(timer);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    get attempts() {
      return state.attempts;
    },
    get cuts() {
      return state.cuts;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      });
      await unlink(socketPath).catch(() => undefined);
    },
  };
}

/**
 * A grpc-js server that accepts every Workload API call and never answers: an agent that hangs
 * (stopped, deadlocked) with its socket still open.
 */
async function startStallingServer(socketPath: string): Promise<{ attempts: Map<string, number[]>; close(): Promise<void> }> {
  const attempts = new Map<string, number[]>();
  const record = (method: string): void => {
    const list = attempts.get(method) ?? [];
    list.push(Date.now());
    attempts.set(method, list);
  };
  const server = new grpc.Server();
  const stream = (method: string) => (call: grpc.ServerWritableStream<unknown, unknown>) => {
    record(method);
    call.on('error', () => undefined);
  };
  const unary = (method: string) => () => {
    record(method);
  };
  server.addService(workloadServiceDefinition(), {
    FetchX509SVID: stream('FetchX509SVID'),
    FetchX509Bundles: stream('FetchX509Bundles'),
    FetchJWTBundles: stream('FetchJWTBundles'),
    FetchJWTSVID: unary('FetchJWTSVID'),
    ValidateJWTSVID: unary('ValidateJWTSVID'),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return {
    attempts,
    close: async () => {
      server.forceShutdown();
      await unlink(socketPath).catch(() => undefined);
    },
  };
}

// --------------------------------------------------------------------------- stream faults

describe('Workload API faults: the stream itself', { concurrency: true }, () => {
  it('a stream cut in the middle of a message: last good SVID served until expiry, not past it; one line per cut', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spiffe-fault-cut-'));
    const socketPath = join(dir, 'agent.sock');
    const log = timedLogger();
    const good = shortLivedSvid();
    const cutter = await startCuttingServer(socketPath, response(good), { cutAfterMs: 300 });
    const client = newClient(`unix://${socketPath}`, log.logger);
    try {
      const source = await X509Source.create({ client, timeoutMs: 5000 });
      const expiresAt = source.getX509Svid().expiresAt;
      await until(() => cutter.cuts >= 2, 5000, 'two cuts');
      assert.equal(source.getX509Svid().expiresAt.getTime(), expiresAt.getTime(), 'the good SVID is still served');
      await assertNotServedPastExpiry(source, expiresAt);
      // Each reopen gets one good message (resetting the backoff) and is then cut: attempts stay
      // spaced by at least the floor, and the log has one warning per cut, not per retry.
      assertNoSpin(cutter.attempts, 40, 'reopens after cuts');
      // A reopen after the SVID expired gets it again and discards it, with its own line.
      const loud = log.loud();
      const warnings = loud.filter((w) => !/: discarded SVID #0 .*: the certificate expired at /.test(w.message));
      assert.ok(
        warnings.length >= 1 && warnings.length <= cutter.cuts,
        `one warning per cut at most (${cutter.cuts} cuts):\n${describeLines(loud)}`,
      );
      for (const w of warnings) assert.match(w.message, /^workloadapi: FetchX509SVID failed: Internal .*; retrying with backoff$/);
      await source.close();
    } finally {
      client.close();
      await cutter.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a first message cut in the middle: create() times out naming the error; attempts back off, one line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spiffe-fault-cut1-'));
    const socketPath = join(dir, 'agent.sock');
    const log = timedLogger();
    const cutter = await startCuttingServer(socketPath, response(shortLivedSvid()), { cutAfterMs: 0, partialFirst: true });
    const client = newClient(`unix://${socketPath}`, log.logger);
    try {
      await assert.rejects(X509Source.create({ client, timeoutMs: 1500 }), (err: unknown) => {
        assert.ok(err instanceof WorkloadApiError);
        assert.equal(err.code, 'ERR_WORKLOADAPI_TIMEOUT');
        assert.match(err.message, /the last error was: FetchX509SVID failed: Internal/);
        return true;
      });
      // No good message ever resets the backoff: 100, 200, 400, 400 ms (halved at worst).
      assertNoSpin(cutter.attempts, 10, 'attempts against a server that cuts every first message');
      assert.equal(log.loud().length, 1, describeLines(log.loud()));
    } finally {
      client.close();
      await cutter.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a stream ended cleanly is reopened at once, without a warning, and the SVID is kept', async () => {
    const rig = await x509Rig();
    try {
      rig.agent.endStreams('FetchX509SVID');
      await rig.agent.waitForCalls('FetchX509SVID', 2);
      await rig.agent.waitForOpenStreams('FetchX509SVID', 1);
      assert.equal(serialOf(rig.source), rig.serial);
      assert.deepEqual(rig.log.loud(), [], 'a clean end is no warning');
      const info = rig.log.lines.filter((l) => l.level === 'info');
      assert.equal(info.filter((l) => /stream was ended by the server; reopening it/.test(l.message)).length, 1, describeLines(info));
      assertNoSpin(callTimes(rig.agent, 'FetchX509SVID'), 2, 'reopen after a clean end');
    } finally {
      await rig.close();
    }
  });

  it('Unavailable for a while: SVID kept, bounded attempts, one warning, one recovery line', async () => {
    const rig = await x509Rig();
    try {
      const unavailable = { code: grpc.status.UNAVAILABLE, details: 'agent restarting' };
      rig.agent.failAllCalls('FetchX509SVID', unavailable);
      rig.agent.failStreams('FetchX509SVID', unavailable);
      await delay(1200);
      assert.equal(serialOf(rig.source), rig.serial, 'the last good SVID is served while the agent is unavailable');
      const during = callTimes(rig.agent, 'FetchX509SVID').slice(1);
      assert.ok(during.length >= 3, `it keeps trying (${during.length} attempts)`);
      assertNoSpin(during, 8, 'attempts while Unavailable');
      assert.equal(rig.log.loud().length, 1, describeLines(rig.log.loud()));
      assert.match(
        rig.log.loud()[0]!.message,
        /^workloadapi: FetchX509SVID failed: Unavailable "agent restarting"; check that an agent is running .*; retrying with backoff$/,
      );

      rig.agent.failAllCalls('FetchX509SVID', undefined);
      rig.agent.setX509SvidResponse(response(shortLivedSvid()));
      await until(() => rig.updates >= 1, 3000, 'recovery');
      assert.notEqual(serialOf(rig.source), rig.serial, 'the renewed SVID is served after recovery');
      assert.equal(rig.log.lines.filter((l) => /receiving updates again/.test(l.message)).length, 1);
      assert.equal(rig.log.loud().length, 1, 'recovery adds no warning');
    } finally {
      await rig.close();
    }
  });

  it('Unavailable until the SVID expires: served until its expiry, never past it', async () => {
    const rig = await x509Rig();
    try {
      const unavailable = { code: grpc.status.UNAVAILABLE, details: 'connection refused' };
      rig.agent.failAllCalls('FetchX509SVID', unavailable);
      rig.agent.failStreams('FetchX509SVID', unavailable);
      await assertNotServedPastExpiry(rig.source, rig.expiresAt);
      assertNoSpin(callTimes(rig.agent, 'FetchX509SVID').slice(1), 12, 'attempts while Unavailable');
      assert.equal(rig.log.loud().length, 1, describeLines(rig.log.loud()));
    } finally {
      await rig.close();
    }
  });

  it('PermissionDenied withdraws the identity at once, though the SVID has not expired', async () => {
    const rig = await x509Rig();
    try {
      rig.agent.withdrawIdentity();
      await until(
        () => {
          try {
            rig.source.getX509Svid();
            return false;
          } catch {
            return true;
          }
        },
        3000,
        'withdrawal',
      );
      assert.ok(Date.now() < rig.expiresAt.getTime(), 'withdrawn before expiry');
      assert.throws(
        () => rig.source.getX509Svid(),
        (err: unknown) => {
          assert.ok(err instanceof WorkloadApiError);
          assert.equal(err.code, 'ERR_SVID_NOT_FOUND');
          assert.match(err.message, /withdrew this workload's identity/);
          return true;
        },
      );
      assert.throws(() => rig.source.getX509BundleForTrustDomain(EXAMPLE), { code: 'ERR_BUNDLE_NOT_FOUND' });
      const linesAfterFirstRetries = rig.log.loud().length;
      await delay(900);
      assertNoSpin(callTimes(rig.agent, 'FetchX509SVID').slice(1), 8, 'attempts while PermissionDenied');
      assert.ok(callTimes(rig.agent, 'FetchX509SVID').length >= 3, 'keeps retrying');
      const loud = rig.log.loud();
      assert.equal(loud.length, linesAfterFirstRetries, `no new line per retry:\n${describeLines(loud)}`);
      assert.ok(loud.length <= 2, `at most the retry warning and the withdrawal:\n${describeLines(loud)}`);
      assert.ok(loud.some((l) => /PermissionDenied "no identity issued"; check that a registration entry matches/.test(l.message)));
    } finally {
      await rig.close();
    }
  });

  it('an agent that stalls before the first message: the SVID is served until expiry, one pending call, no spin', async () => {
    const rig = await x509Rig();
    const socketPath = rig.agent.socketPath;
    let staller: Awaited<ReturnType<typeof startStallingServer>> | undefined;
    try {
      await rig.agent.stop();
      staller = await startStallingServer(socketPath);
      await until(() => (staller!.attempts.get('FetchX509SVID')?.length ?? 0) >= 1, 4000, 'a call to the stalling agent');
      assert.equal(serialOf(rig.source), rig.serial);
      await assertNotServedPastExpiry(rig.source, rig.expiresAt);
      assert.equal(staller.attempts.get('FetchX509SVID')?.length, 1, 'one call, left pending: no retry loop');
    } finally {
      await rig.close();
      await staller?.close();
    }
  });

  it('create() against an agent that stalls: times out saying nothing was sent, and closes its call', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spiffe-fault-stall-'));
    const socketPath = join(dir, 'agent.sock');
    const staller = await startStallingServer(socketPath);
    const log = timedLogger();
    const client = newClient(`unix://${socketPath}`, log.logger);
    try {
      const started = Date.now();
      await assert.rejects(X509Source.create({ client, timeoutMs: 700 }), (err: unknown) => {
        assert.ok(err instanceof WorkloadApiError);
        assert.equal(err.code, 'ERR_WORKLOADAPI_TIMEOUT');
        assert.match(err.message, /the agent accepted the call but sent nothing/);
        return true;
      });
      assert.ok(Date.now() - started < 2000);
      assert.equal(staller.attempts.get('FetchX509SVID')?.length, 1);
      assert.deepEqual(log.loud(), []);
    } finally {
      client.close();
      await staller.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------- malformed responses

interface MalformedCase {
  name: string;
  /** The response pushed on the open stream once the source holds its good SVID. */
  build: () => X509SvidResponseMessage;
  /** The one line expected for it. */
  line: RegExp;
  /** Whether the response kills the stream (then it is retried with backoff). */
  breaksStream?: boolean;
}

/**
 * A PKCS#8 EC P-256 key (as node and Go write it: with the public point embedded) whose private
 * scalar has one bit flipped. Its public part still names the certificate's key, but it no longer
 * signs for it: every TLS handshake presenting it would fail.
 */
function corruptedEcScalar(keyDer: Buffer): Buffer {
  const der = Buffer.from(keyDer);
  // 30 81 87 | 02 01 00 | 30 13 (algorithm) | 04 6d 30 6b 02 01 01 04 20 <32-byte scalar> ...
  assert.equal(der.subarray(33, 36).toString('hex'), '010420', 'the layout of a PKCS#8 P-256 key');
  der[40] = (der[40] as number) ^ 0x01;
  return der;
}

function other(): { keyDer: Buffer } {
  return { keyDer: example.ca.svid('/other').keyDer };
}

const MALFORMED: MalformedCase[] = [
  {
    name: 'an empty SVID list',
    build: () => response(),
    line: /^workloadapi: FetchX509SVID: ignored a response that holds no SVID$/,
  },
  {
    name: 'truncated certificate DER',
    build: () => {
      const m = example.svid('/web');
      return response({ ...m, x509_svid: m.x509_svid.subarray(0, Math.floor(m.x509_svid.length / 2)) });
    },
    line: /^workloadapi: FetchX509SVID: discarded SVID #0 \(spiffe:\/\/example\.org\/web\): x509svid: /,
  },
  {
    name: 'truncated key DER',
    build: () => {
      const m = example.svid('/web');
      return response({ ...m, x509_svid_key: m.x509_svid_key.subarray(0, 20) });
    },
    line: /^workloadapi: FetchX509SVID: discarded SVID #0 \(spiffe:\/\/example\.org\/web\): x509svid: /,
  },
  {
    name: 'a key that does not match the certificate',
    build: () => response(example.svid('/web', { x509_svid_key: other().keyDer })),
    line: /^workloadapi: FetchX509SVID: discarded SVID #0 \(spiffe:\/\/example\.org\/web\): x509svid: .*(match|key)/i,
  },
  {
    name: 'the bundle missing',
    build: () => response(example.svid('/web', { bundle: new Uint8Array(0) })),
    line: /^workloadapi: FetchX509SVID: discarded SVID #0 \(spiffe:\/\/example\.org\/web\): the bundle field is empty$/,
  },
  {
    name: 'a private key whose secret part is corrupted (its public part intact)',
    build: () => {
      const svid = example.ca.svid('/web');
      return response(x509SvidMessage(svid, [example.ca.certificate], { x509_svid_key: corruptedEcScalar(svid.keyDer) }));
    },
    line: /^workloadapi: FetchX509SVID: discarded SVID #0 \(spiffe:\/\/example\.org\/web\): x509svid: .*key/i,
  },
  {
    name: 'a bundle of another CA (the chain does not verify)',
    build: () => response(example.svid('/web', { bundle: concatDer([TestTrustDomain.create('example.org').ca.certificate]) })),
    line: /^workloadapi: FetchX509SVID: discarded SVID #0 \(spiffe:\/\/example\.org\/web\): it does not verify against the bundle of "example\.org"/,
  },
  {
    name: 'a spiffe_id that differs from the certificate',
    build: () => response(example.svid('/web', { spiffe_id: 'spiffe://example.org/admin' })),
    line: /^workloadapi: FetchX509SVID: discarded SVID #0 \(spiffe:\/\/example\.org\/admin\): spiffe_id spiffe:\/\/example\.org\/admin differs from the certificate's URI SAN spiffe:\/\/example\.org\/web$/,
  },
  {
    name: 'an empty spiffe_id',
    build: () => response(example.svid('/web', { spiffe_id: '' })),
    line: /^workloadapi: FetchX509SVID: discarded SVID #0: the spiffe_id field is empty$/,
  },
  {
    name: 'an expired SVID',
    build: () =>
      response(
        x509SvidMessage(
          example.ca.svid('/web', { notBefore: new Date(Date.now() - 7_200_000), notAfter: new Date(Date.now() - 3_600_000) }),
          [example.ca.certificate],
        ),
      ),
    line: /^workloadapi: FetchX509SVID: discarded SVID #0 \(spiffe:\/\/example\.org\/web\): the certificate expired at /,
  },
  {
    name: 'a not-yet-valid SVID',
    build: () =>
      response(
        x509SvidMessage(
          example.ca.svid('/web', { notBefore: new Date(Date.now() + 3_600_000), notAfter: new Date(Date.now() + 7_200_000) }),
          [example.ca.certificate],
        ),
      ),
    line: /^workloadapi: FetchX509SVID: discarded SVID #0 \(spiffe:\/\/example\.org\/web\): .*not (yet )?valid/i,
  },
  {
    name: 'a CA certificate as the leaf',
    build: () =>
      response(
        x509SvidMessage(example.ca.svid('/web', { isCa: true, keyUsage: ['digitalSignature', 'keyCertSign'] }), [example.ca.certificate]),
      ),
    line: /^workloadapi: FetchX509SVID: discarded SVID #0 \(spiffe:\/\/example\.org\/web\): x509svid: /,
  },
  {
    name: 'an enormous message (5 MiB, over the 4 MiB receive limit)',
    build: () => ({
      ...response(example.svid('/web')),
      federated_bundles: { 'spiffe://huge.example': Buffer.alloc(5 * 1024 * 1024, 0x30) },
    }),
    line: /^workloadapi: FetchX509SVID failed: ResourceExhausted .*; retrying with backoff$/,
    breaksStream: true,
  },
];

describe('Workload API faults: malformed X509-SVID responses', { concurrency: true }, () => {
  for (const c of MALFORMED) {
    it(`${c.name}: refused, the last good SVID served until expiry and not past it, one line`, async () => {
      const rig = await x509Rig();
      try {
        rig.agent.setX509SvidResponse(c.build());
        await until(() => rig.log.loud().length >= 1 || rig.updates > 0, 3000, `a line about ${c.name}`);
        await delay(400);
        assert.equal(rig.updates, 0, `the response with ${c.name} was accepted as an update: it must be refused`);
        assert.equal(serialOf(rig.source), rig.serial, 'the last good SVID is still served');
        await assertNotServedPastExpiry(rig.source, rig.expiresAt);
        const loud = rig.log.loud();
        assert.equal(loud.length, 1, `exactly one line for the fault:\n${describeLines(loud)}`);
        assert.match(loud[0]!.message, c.line);
        const attempts = callTimes(rig.agent, 'FetchX509SVID');
        if (c.breaksStream) {
          assert.ok(attempts.length >= 3, `the broken stream is retried (${attempts.length} calls)`);
          assertNoSpin(attempts.slice(1), 12, 'retries of a stream that keeps failing');
        } else {
          assert.equal(attempts.length, 1, 'a refused message does not break the stream');
        }

        // A good response afterwards is taken at once.
        rig.agent.setX509SvidResponse(response(example.svid('/web')));
        await until(() => rig.updates === 1, 4000, 'recovery after the fault');
        assert.ok(rig.source.getX509Svid().expiresAt.getTime() > Date.now());
      } finally {
        await rig.close();
      }
    });
  }
});

// ------------------------------------------------------------------------------- JWT faults

async function jwtRig(ttlSeconds = 300): Promise<{
  agent: FakeAgent;
  client: WorkloadApiClient;
  source: JwtSource;
  log: ReturnType<typeof timedLogger>;
  updates: number;
  close(): Promise<void>;
}> {
  const agent = await FakeAgent.start();
  const log = timedLogger();
  const client = newClient(agent.address, log.logger);
  agent.setJwtBundlesResponse({ bundles: example.jwtBundles() });
  agent.setJwtIssuer(example.jwtIssuer(['/web'], ttlSeconds));
  const source = await JwtSource.create({ client, timeoutMs: 5000 });
  const rig = {
    agent,
    client,
    source,
    log,
    updates: 0,
    close: async () => {
      await source.close();
      client.close();
      await agent.close();
    },
  };
  source.on('update', () => rig.updates++);
  return rig;
}

describe('Workload API faults: JWT bundles and JWT-SVIDs', { concurrency: true }, () => {
  it('a JWKS that is not JSON: refused, the previous bundle kept, one line', async () => {
    const rig = await jwtRig();
    try {
      const token = (await rig.source.fetchJwtSvid({ audience: AUDIENCE })).token;
      rig.agent.setJwtBundlesResponse({ bundles: { [example.id]: Buffer.from('{"keys": [ this is not json') } });
      await until(() => rig.log.loud().length >= 1, 3000, 'a line about the JWKS');
      await delay(200);
      const svid = await parseAndValidateJwtSvid(token, rig.source, [AUDIENCE]);
      assert.equal(svid.id.toString(), 'spiffe://example.org/web', 'the previous bundle still validates');
      assert.equal(rig.updates, 0);
      const loud = rig.log.loud();
      assert.equal(loud.length, 1, describeLines(loud));
      assert.match(loud[0]!.message, /^workloadapi: FetchJWTBundles: discarded the JWT bundle of "example\.org": jwtbundle: /);
      assert.equal(rig.agent.callsTo('FetchJWTBundles').length, 1, 'the stream stays open');
    } finally {
      await rig.close();
    }
  });

  it('keys of an unknown kty are ignored, the others used', async () => {
    const rig = await jwtRig();
    try {
      const jwks = JSON.parse(jwksBytes(new Map([[example.kid, example.jwtKey.publicKey]])).toString('utf8')) as { keys: object[] };
      jwks.keys.unshift({ kty: 'QUANTUM', kid: 'q1', use: 'jwt-svid', x: 'AAAA' });
      rig.agent.setJwtBundlesResponse({ bundles: { [example.id]: Buffer.from(JSON.stringify(jwks)) } });
      await until(() => rig.updates >= 1, 3000, 'the update with an unknown key type');
      const bundle = rig.source.getJwtBundleForTrustDomain(EXAMPLE);
      assert.equal(bundle.findJwtAuthority('q1'), undefined);
      assert.ok(bundle.findJwtAuthority(example.kid));
      const token = (await rig.source.fetchJwtSvid({ audience: AUDIENCE })).token;
      assert.equal((await parseAndValidateJwtSvid(token, rig.source, [AUDIENCE])).id.toString(), 'spiffe://example.org/web');
      assert.ok(rig.log.loud().length <= 1, describeLines(rig.log.loud()));
    } finally {
      await rig.close();
    }
  });

  it('PermissionDenied drops the JWT bundles and cached tokens: nothing validates any more', async () => {
    const rig = await jwtRig();
    try {
      const token = (await rig.source.fetchJwtSvid({ audience: AUDIENCE })).token;
      rig.agent.withdrawIdentity();
      await until(
        () => {
          try {
            rig.source.getJwtBundleForTrustDomain(EXAMPLE);
            return false;
          } catch {
            return true;
          }
        },
        3000,
        'bundles dropped',
      );
      await assert.rejects(parseAndValidateJwtSvid(token, rig.source, [AUDIENCE]), (err: unknown) => err instanceof Error && 'code' in err);
      await assert.rejects(rig.source.fetchJwtSvid({ audience: AUDIENCE }), (err: unknown) => {
        assert.ok(err instanceof WorkloadApiError);
        assert.equal(err.code, 'ERR_WORKLOADAPI_PERMISSION_DENIED');
        return true;
      });
      const before = rig.log.loud().length;
      await delay(800);
      assert.equal(rig.log.loud().length, before, `no line per retry:\n${describeLines(rig.log.loud())}`);
      assertNoSpin(callTimes(rig.agent, 'FetchJWTBundles').slice(1), 8, 'JWT bundle retries');
    } finally {
      await rig.close();
    }
  });

  it('a malformed JWT-SVID from the agent: a typed error, and the cached token served while valid', async () => {
    const rig = await jwtRig(2);
    try {
      const first = await rig.source.fetchJwtSvid({ audience: AUDIENCE });
      rig.agent.setJwtSvidHandler(() => ({ svids: [{ spiffe_id: 'spiffe://example.org/web', svid: 'eyJhbGciOi.not-a-jwt', hint: '' }] }));
      // Past half of the token's life the source refreshes; the refresh is refused.
      await delay(first.expiry.getTime() - Date.now() - 600);
      const served = await rig.source.fetchJwtSvid({ audience: AUDIENCE });
      assert.equal(served.token, first.token, 'the cached, still valid token is served');
      await delay(first.expiry.getTime() - Date.now() + 50);
      await assert.rejects(rig.source.fetchJwtSvid({ audience: AUDIENCE }), (err: unknown) => {
        assert.ok(err instanceof WorkloadApiError, String(err));
        assert.equal(err.code, 'ERR_WORKLOADAPI_RESPONSE');
        return true;
      });
      await assert.rejects(parseAndValidateJwtSvid('eyJhbGciOi.not-a-jwt', rig.source, [AUDIENCE]), JwtSvidError);
    } finally {
      await rig.close();
    }
  });

  it('a refresh that the agent never answers does not block callers while the cached token is valid', async () => {
    const rig = await jwtRig(4);
    try {
      const first = await rig.source.fetchJwtSvid({ audience: AUDIENCE });
      // The agent hangs: FetchJWTSVID is accepted and never answered.
      rig.agent.setJwtSvidHandler(() => new Promise(() => undefined));
      // Past half of the token's life: the source wants a fresh token.
      await delay(Math.max(0, first.expiry.getTime() - Date.now() - 1500));
      assert.ok(first.expiry.getTime() - Date.now() > 1000, 'the cached token is still valid for more than a second');
      const outcome = await Promise.race([
        rig.source.fetchJwtSvid({ audience: AUDIENCE }).then(
          (svid) => ({ kind: 'served' as const, token: svid.token }),
          (err: unknown) => ({ kind: 'failed' as const, err }),
        ),
        delay(800).then(() => ({ kind: 'hung' as const })),
      ]);
      assert.notEqual(
        outcome.kind,
        'hung',
        'JwtSource.fetchJwtSvid waited on a FetchJWTSVID call the agent never answers, although the cached token ' +
          'is valid for more than a second: a hung agent must not block callers (serve the cached token, or time the call out)',
      );
      if (outcome.kind === 'served') assert.equal(outcome.token, first.token);
    } finally {
      await rig.close();
    }
  });
});
