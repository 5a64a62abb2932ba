import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { authorizeAny, authorizeId, authorizeOneOf } from '../authorize/index.js';
import { X509BundleSet } from '../bundle/index.js';
import type { TlsPeerError } from '../errors.js';
import type { X509Svid } from '../svid/x509/index.js';
import { dial } from './index.js';
import { grpcChannelCredentials, grpcServerCredentials, peerIdFromGrpcCall } from '../grpc/index.js';
import { makePki, RotatingSvidSource, SwappableSource, toSvid } from './testing/fixtures.js';

const pki = makePki();
const { ca, otherCa, rogueCa, svids, bundles } = pki;
const CLIENT = 'spiffe://example.org/client';
const OTHER = 'spiffe://example.org/other';
const SERVER = 'spiffe://example.org/server';
const HOUR = 3600_000;

/** Client SVIDs that only a whole-chain, own-trust-domain verification tells apart. */
const chains = {
  /** example.org/client through an intermediate of example.org's root (the dev agent's, SPIRE's with an UpstreamAuthority). */
  viaIntermediate: svids.clientViaIntermediate,
  /** example.org/client through an intermediate of a root in no bundle. */
  viaUntrustedIntermediate: toSvid(rogueCa.intermediate().svid('/client')),
  /** example.org/client through an intermediate of example.org's root that has expired. */
  viaExpiredIntermediate: toSvid(
    ca.intermediate({ notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() - HOUR) }).svid('/client'),
  ),
  /** example.org/client signed by other.org's (federated, trusted) root. */
  ourIdFromFederatedRoot: toSvid(otherCa.svid(CLIENT)),
};

const text = {
  serialize: (s: string) => Buffer.from(s),
  deserialize: (b: Buffer) => b.toString(),
};
const echoService: grpc.ServiceDefinition = {
  echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: text.serialize,
    requestDeserialize: text.deserialize,
    responseSerialize: text.serialize,
    responseDeserialize: text.deserialize,
  },
};
const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');

function echo(client: grpc.Client, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    (client as unknown as { echo: (m: string, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: string) => void) => void }).echo(
      message,
      { deadline: Date.now() + 10_000 },
      (err, reply) => (err ? reject(err) : resolve(reply ?? '')),
    );
  });
}

/** A gRPC echo server on 127.0.0.1: replies `<message> from <peerIdFromGrpcCall(call)>`. */
class EchoServer {
  readonly server = new grpc.Server();
  /** Messages that reached the handler. */
  readonly handled: string[] = [];
  port = 0;

  async start(credentials: grpc.ServerCredentials): Promise<this> {
    this.server.addService(echoService, {
      echo: (call: grpc.ServerUnaryCall<string, string>, callback: grpc.sendUnaryData<string>) => {
        this.handled.push(call.request);
        callback(null, `${call.request} from ${peerIdFromGrpcCall(call)}`);
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    return this;
  }

  /** A client (its own channel, so its own connection) presenting `svid`, or nothing. */
  client(svid: X509Svid | undefined, expectServer = SERVER): grpc.Client {
    return new EchoClient(
      `127.0.0.1:${this.port}`,
      grpcChannelCredentials({
        ...(svid === undefined ? {} : { svidSource: svid }),
        bundleSource: bundles,
        authorizer: authorizeId(expectServer),
      }),
    );
  }

  /** Calls the server once with a fresh client. */
  async call(svid: X509Svid | undefined, message: string): Promise<string> {
    const client = this.client(svid);
    try {
      return await echo(client, message);
    } finally {
      client.close();
    }
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

/** Collects the refusals a server reports through `onRejected`. */
class Rejections {
  readonly seen: TlsPeerError[] = [];
  readonly #waiting: Array<(err: TlsPeerError) => void> = [];
  readonly onRejected = (err: TlsPeerError): void => {
    this.seen.push(err);
    this.#waiting.shift()?.(err);
  };
  /** The next refusal. */
  next(): Promise<TlsPeerError> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

/** Asserts that a call with `svid` is refused before the handler runs, and returns the server's reason. */
async function assertRefused(server: EchoServer, rejections: Rejections, svid: X509Svid | undefined): Promise<TlsPeerError> {
  const count = server.handled.length;
  const reason = rejections.next();
  await assert.rejects(server.call(svid, 'let me in'), (err: grpc.ServiceError) => {
    assert.equal(err.code, grpc.status.UNAVAILABLE, `${err.code} ${err.details}`);
    return true;
  });
  const error = await reason;
  assert.equal(server.handled.length, count, 'the handler ran for a refused client');
  return error;
}

describe('gRPC: grpcServerCredentials and grpcChannelCredentials', { timeout: 60_000 }, () => {
  const server = new EchoServer();
  const rejections = new Rejections();
  const serverSource = new RotatingSvidSource(svids.server);
  before(() =>
    server.start(
      grpcServerCredentials({
        svidSource: serverSource,
        bundleSource: bundles,
        authorizer: authorizeOneOf(CLIENT),
        onRejected: rejections.onRejected,
      }),
    ),
  );
  after(() => server.stop());

  it('does an authenticated round trip; the handler knows the client', async () => {
    assert.equal(await server.call(svids.client, 'hi'), `hi from ${CLIENT}`);
  });

  it('accepts a client SVID issued through an intermediate CA, and peerIdFromGrpcCall gives its ID', async () => {
    assert.ok(chains.viaIntermediate.certificates.length >= 2, 'the fixture has an intermediate');
    assert.equal(await server.call(chains.viaIntermediate, 'via intermediate'), `via intermediate from ${CLIENT}`);
  });

  it('refuses an unexpected client before the handler runs, and says why', async () => {
    const reason = await assertRefused(server, rejections, svids.other);
    assert.equal(reason.code, 'ERR_TLS_PEER_REJECTED');
    assert.equal(reason.message, `tls: unexpected ID "${OTHER}"`);
  });

  it('refuses a client that presents no certificate', async () => {
    const reason = await assertRefused(server, rejections, undefined);
    assert.equal(reason.code, 'ERR_TLS_NO_PEER_CERTIFICATE');
  });

  const NOT_OURS = /no trusted authority in the bundle of "example\.org"/;
  const badChains: Array<{ name: string; svid: X509Svid; why: RegExp }> = [
    { name: 'a client whose root is in no bundle', svid: svids.rogueClient, why: NOT_OURS },
    { name: 'a chain through an intermediate of an untrusted root', svid: chains.viaUntrustedIntermediate, why: NOT_OURS },
    { name: 'a chain through an expired intermediate', svid: chains.viaExpiredIntermediate, why: /signing certificate 2 expired at/ },
  ];
  for (const { name, svid, why } of badChains) {
    it(`refuses ${name}`, async () => {
      const reason = await assertRefused(server, rejections, svid);
      assert.equal(reason.code, 'ERR_TLS_PEER_REJECTED');
      assert.match(reason.message, why);
    });
  }

  it('refuses an example.org ID signed by the federated other.org root (only its own trust domain bundle counts)', async () => {
    const reason = await assertRefused(server, rejections, chains.ourIdFromFederatedRoot);
    assert.equal(reason.code, 'ERR_TLS_PEER_REJECTED');
    assert.match(reason.message, NOT_OURS);
    // And an other.org ID signed by example.org's root, the other way round.
    const authorizeAll = new EchoServer();
    const all = new Rejections();
    await authorizeAll.start(
      grpcServerCredentials({ svidSource: svids.server, bundleSource: bundles, authorizer: authorizeAny(), onRejected: all.onRejected }),
    );
    try {
      assert.equal(await authorizeAll.call(svids.otherTdClient, 'federated'), 'federated from spiffe://other.org/client');
      await assertRefused(authorizeAll, all, svids.crossClient);
    } finally {
      authorizeAll.stop();
    }
  });

  it('the client refuses a server with an unexpected ID', async () => {
    const client = server.client(svids.client, 'spiffe://example.org/someone-else');
    try {
      await assert.rejects(echo(client, 'x'), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE);
        assert.match(err.details, /unexpected ID "spiffe:\/\/example\.org\/server"/);
        return true;
      });
    } finally {
      client.close();
    }
  });

  it('refuses TLS 1.2 renegotiation by an admitted client', async () => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: server.port,
      maxVersion: 'TLSv1.2',
      ALPNProtocols: ['h2'],
      cert: svids.client.marshal().certificates,
      key: svids.client.marshal().privateKey,
      rejectUnauthorized: false,
    });
    socket.on('error', () => {});
    socket.resume();
    await once(socket, 'secureConnect');
    const closed = once(socket, 'close');
    const outcome = await new Promise<string>((resolve) => {
      const started = socket.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err ? `refused: ${err.message}` : 'renegotiated'));
      if (!started) resolve('refused: not started');
      socket.once('close', () => resolve('refused: closed'));
    });
    socket.destroy();
    await closed;
    assert.match(outcome, /^refused/);
  });

  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`never resumes a TLS session (${maxVersion}): every connection is verified in full`, async () => {
      const options = {
        host: '127.0.0.1',
        port: server.port,
        maxVersion,
        ALPNProtocols: ['h2'],
        cert: svids.client.marshal().certificates,
        key: svids.client.marshal().privateKey,
        rejectUnauthorized: false,
      };
      const first = tls.connect(options);
      first.on('error', () => {});
      first.resume();
      let session: Buffer | undefined;
      first.on('session', (s: Buffer) => (session ??= s));
      await once(first, 'secureConnect');
      // Give a TLS 1.3 server the chance to send tickets after the handshake.
      await new Promise((resolve) => setTimeout(resolve, 200));
      session ??= first.getSession();
      first.destroy();
      assert.ok(session !== undefined, 'the client has a session to offer');
      const second = tls.connect({ ...options, session });
      second.on('error', () => {});
      second.resume();
      await once(second, 'secureConnect');
      assert.equal(second.isSessionReused(), false);
      second.destroy();
    });
  }

  it('serves connections handed over by createConnectionInjector, through the same gate', async () => {
    const grpcServer = new grpc.Server();
    const handled: string[] = [];
    grpcServer.addService(echoService, {
      echo: (call: grpc.ServerUnaryCall<string, string>, callback: grpc.sendUnaryData<string>) => {
        handled.push(call.request);
        callback(null, `${call.request} from ${peerIdFromGrpcCall(call)}`);
      },
    });
    const injected = new Rejections();
    const injector = grpcServer.createConnectionInjector(
      grpcServerCredentials({
        svidSource: svids.server,
        bundleSource: bundles,
        authorizer: authorizeOneOf(CLIENT),
        onRejected: injected.onRejected,
      }),
    );
    const tcp = net.createServer((socket) => injector.injectConnection(socket));
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    const target = `127.0.0.1:${(tcp.address() as net.AddressInfo).port}`;
    const clientFor = (svid: X509Svid) =>
      new EchoClient(target, grpcChannelCredentials({ svidSource: svid, bundleSource: bundles, authorizer: authorizeId(SERVER) }));
    const good = clientFor(chains.viaIntermediate);
    const bad = clientFor(svids.other);
    try {
      assert.equal(await echo(good, 'injected'), `injected from ${CLIENT}`);
      const reason = injected.next();
      await assert.rejects(echo(bad, 'x'), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
      assert.equal((await reason).message, `tls: unexpected ID "${OTHER}"`);
      assert.deepEqual(handled, ['injected']);
    } finally {
      good.close();
      bad.close();
      injector.destroy();
      tcp.close();
      grpcServer.forceShutdown();
    }
  });

  it('presents a rotated server SVID on new connections', async () => {
    const next = toSvid(ca.svid('/server'));
    serverSource.set(next);
    const socket = await dial({
      host: '127.0.0.1',
      port: server.port,
      mode: 'mtls',
      svidSource: svids.client,
      bundleSource: bundles,
      authorizer: authorizeId(SERVER),
      tlsOptions: { ALPNProtocols: ['h2'] },
    });
    assert.equal(socket.getPeerX509Certificate()?.serialNumber, next.certificates[0]?.serialNumber);
    socket.destroy();
    assert.equal(await server.call(svids.client, 'after rotation'), `after rotation from ${CLIENT}`);
  });
});

describe('gRPC: bundle updates and several servers in one process', { timeout: 60_000 }, () => {
  it('a bundle update that removes the client CA refuses new connections', async () => {
    const source = new SwappableSource(ca.bundle());
    const rejections = new Rejections();
    const server = await new EchoServer().start(
      grpcServerCredentials({
        svidSource: svids.server,
        bundleSource: source,
        authorizer: authorizeAny(),
        onRejected: rejections.onRejected,
      }),
    );
    try {
      assert.equal(await server.call(svids.client, 'before'), `before from ${CLIENT}`);
      source.bundle = rogueCa.bundle();
      const reason = await assertRefused(server, rejections, svids.client);
      assert.equal(reason.code, 'ERR_TLS_PEER_REJECTED');
      assert.match(reason.message, /no trusted authority in the bundle of "example\.org"/);
      source.bundle = ca.bundle();
      assert.equal(await server.call(svids.client, 'after'), `after from ${CLIENT}`);
    } finally {
      server.stop();
    }
  });

  it('peerIdFromGrpcCall answers only for connections this very server verified', async () => {
    const forClient = await new EchoServer().start(
      grpcServerCredentials({ svidSource: svids.server, bundleSource: bundles, authorizer: authorizeOneOf(CLIENT) }),
    );
    const forOther = new Rejections();
    const otherServer = await new EchoServer().start(
      grpcServerCredentials({
        svidSource: svids.server,
        bundleSource: bundles,
        authorizer: authorizeOneOf(OTHER),
        onRejected: forOther.onRejected,
      }),
    );
    // A plain grpc-js mTLS server in the same process: OpenSSL checks the client, this library does not.
    const serverPem = svids.server.marshal();
    const plain = await new EchoServer().start(
      grpc.ServerCredentials.createSsl(
        Buffer.from(ca.root.pem),
        [{ cert_chain: Buffer.from(serverPem.certificates), private_key: Buffer.from(serverPem.privateKey) }],
        true,
      ),
    );
    try {
      assert.equal(await forClient.call(svids.client, 'a'), `a from ${CLIENT}`);
      assert.equal(await plain.call(svids.client, 'b'), 'b from undefined');
      await assertRefused(otherServer, forOther, svids.client);
      assert.equal(await otherServer.call(svids.other, 'c'), `c from ${OTHER}`);
      assert.equal(await plain.call(svids.other, 'd'), 'd from undefined');
      assert.equal(await forClient.call(svids.client, 'e'), `e from ${CLIENT}`);
    } finally {
      forClient.stop();
      otherServer.stop();
      plain.stop();
    }
  });

  it('refuses new connections while the source has no SVID, and reports it through onRotationError', async () => {
    let withdrawn = false;
    const source = {
      getX509Svid: () => {
        if (withdrawn) throw new Error('no identity issued');
        return svids.server;
      },
    };
    const reported: unknown[] = [];
    const server = await new EchoServer().start(
      grpcServerCredentials({
        svidSource: source,
        bundleSource: bundles,
        authorizer: authorizeAny(),
        onRotationError: (err) => reported.push(err),
      }),
    );
    try {
      withdrawn = true;
      await assert.rejects(server.call(svids.client, 'x'), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
      assert.equal(server.handled.length, 0);
      assert.equal((reported[0] as Error | undefined)?.message, 'no identity issued');
      withdrawn = false;
      assert.equal(await server.call(svids.client, 'back'), `back from ${CLIENT}`);
    } finally {
      server.stop();
    }
  });

  it('keeps the gate when the credentials are wrapped with grpc-js interceptors', async () => {
    const rejections = new Rejections();
    const seen: string[] = [];
    const credentials = grpc.experimental.createServerCredentialsWithInterceptors(
      grpcServerCredentials({
        svidSource: svids.server,
        bundleSource: bundles,
        authorizer: authorizeOneOf(CLIENT),
        onRejected: rejections.onRejected,
      }),
      [(method, call) => (seen.push(method.path), new grpc.ServerInterceptingCall(call))],
    );
    const server = await new EchoServer().start(credentials);
    try {
      assert.equal(await server.call(chains.viaIntermediate, 'wrapped'), `wrapped from ${CLIENT}`);
      const reason = await assertRefused(server, rejections, svids.other);
      assert.equal(reason.message, `tls: unexpected ID "${OTHER}"`);
      assert.deepEqual(seen, ['/test.Echo/Echo']);
    } finally {
      server.stop();
    }
  });

  it('fails loudly, serving nothing, when grpc-js does not hand over the server it built', () => {
    const credentials = grpcServerCredentials({ svidSource: svids.server, bundleSource: bundles, authorizer: authorizeAny() });
    const setSecureContext = tls.Server.prototype.setSecureContext;
    // A watcher that installs options some other way than on a tls.Server.
    assert.throws(
      () => credentials._addWatcher(() => {}),
      (err: Error) => err instanceof TypeError && /did not show the HTTP\/2 server/.test(err.message),
    );
    assert.equal(credentials._getSecureContextOptions(), null, 'no identity is offered to a server without the gate');
    assert.equal(tls.Server.prototype.setSecureContext, setSecureContext, 'tls.Server is left as it was');
  });

  it('serves several calls on one connection with the ID verified at its handshake', async () => {
    const server = await new EchoServer().start(
      grpcServerCredentials({ svidSource: svids.server, bundleSource: new X509BundleSet(ca.bundle()), authorizer: authorizeAny() }),
    );
    const client = server.client(chains.viaIntermediate);
    try {
      const replies = await Promise.all(['1', '2', '3'].map((m) => echo(client, m)));
      assert.deepEqual(
        replies,
        ['1', '2', '3'].map((m) => `${m} from ${CLIENT}`),
      );
    } finally {
      client.close();
      server.stop();
    }
  });
});
