import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { authorizeAny, authorizeId, authorizeOneOf } from '../authorize/index.js';
import { X509BundleSet, type X509BundleSource } from '../bundle/index.js';
import { TlsPeerError } from '../errors.js';
import type { TestSvid } from '../testing/ca.js';
import {
  createHttpsServer,
  createSpiffeHttpsAgent,
  createTlsServer,
  mtlsClientOptions,
  mtlsServerOptions,
  mtlsWebClientOptions,
  mtlsWebServerOptions,
  tlsClientOptions,
  tlsServerOptions,
} from './index.js';
import { createHttp2SecureServer, connectHttp2 } from '../http2/index.js';
import { grpcChannelCredentials, grpcServerCredentials } from '../grpc/index.js';
import { spiffeAuth } from '../express/index.js';
import { createSpiffeDispatcher } from './undici.js';
import { closeServer, collect, delay, listenLocal, makePki, trackSockets } from './testing/fixtures.js';

const pki = makePki();
const { minted, svids, bundles, ca } = pki;
const CLIENT = 'spiffe://example.org/client';
const SERVER = 'spiffe://example.org/server';

describe('plain server options fail closed', () => {
  const builders = [
    { name: 'tlsServerOptions', make: () => tlsServerOptions(svids.server) },
    { name: 'mtlsServerOptions', make: () => mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT)) },
    { name: 'mtlsWebServerOptions', make: () => mtlsWebServerOptions({ cert: pki.web.cert, key: pki.web.key }, bundles, authorizeId(CLIENT)) },
  ];
  const misuses: Array<{ name: string; use: (opts: tls.TlsOptions) => unknown }> = [
    { name: 'https.createServer(opts)', use: (opts) => https.createServer(opts) },
    { name: 'tls.createServer(opts)', use: (opts) => tls.createServer(opts) },
    { name: 'http2.createSecureServer(opts)', use: (opts) => http2.createSecureServer(opts) },
    { name: 'tls.createServer({ ...opts })', use: (opts) => tls.createServer({ ...opts }) },
  ];
  for (const b of builders) {
    for (const m of misuses) {
      it(`${m.name} with ${b.name}() throws a TypeError`, () => {
        assert.throws(
          () => m.use(b.make()),
          (err: Error) =>
            err instanceof TypeError && err.message.startsWith(`tls: options from ${b.name}() must be passed to createTlsServer()`),
        );
      });
    }
    it(`the creators accept ${b.name}() (valid counterpart)`, async () => {
      const server = createTlsServer(b.make());
      assert.ok(server instanceof tls.Server);
      const httpsServer = createHttpsServer(b.make());
      assert.ok(httpsServer instanceof https.Server);
      const h2 = createHttp2SecureServer(b.make());
      assert.ok(h2 instanceof tls.Server);
    });
  }
});

describe('builders refuse missing pieces', () => {
  const auth = authorizeId(SERVER);
  const cases: Array<{ name: string; run: () => unknown; message: RegExp }> = [
    { name: 'mtlsServerOptions without authorizer', run: () => mtlsServerOptions(svids.server, bundles, undefined as never), message: /authorizer is required/ },
    { name: 'mtlsServerOptions without bundles', run: () => mtlsServerOptions(svids.server, undefined as never, auth), message: /X509BundleSource/ },
    { name: 'tlsServerOptions without SVID source', run: () => tlsServerOptions({} as never), message: /X509SvidSource/ },
    { name: 'mtlsWebServerOptions without authorizer', run: () => mtlsWebServerOptions({ cert: pki.web.cert, key: pki.web.key }, bundles, undefined as never), message: /authorizer is required/ },
    { name: 'mtlsWebServerOptions without key', run: () => mtlsWebServerOptions({ cert: pki.web.cert } as never, bundles, auth), message: /cert, key/ },
    { name: 'tlsClientOptions without authorizer', run: () => tlsClientOptions(bundles, undefined as never), message: /authorizer is required/ },
    { name: 'mtlsClientOptions without authorizer', run: () => mtlsClientOptions(svids.client, bundles, undefined as never), message: /authorizer is required/ },
    { name: 'mtlsWebClientOptions without SVID source', run: () => mtlsWebClientOptions(undefined as never), message: /X509SvidSource/ },
    { name: 'createSpiffeHttpsAgent without authorizer', run: () => createSpiffeHttpsAgent({ bundleSource: bundles } as never), message: /authorizer is required/ },
    { name: 'createSpiffeDispatcher without authorizer', run: () => createSpiffeDispatcher({ bundleSource: bundles } as never), message: /authorizer is required/ },
    { name: 'grpcChannelCredentials without authorizer', run: () => grpcChannelCredentials({ bundleSource: bundles } as never), message: /authorizer is required/ },
    { name: 'grpcServerCredentials with bundles but no authorizer', run: () => grpcServerCredentials({ svidSource: svids.server, bundleSource: bundles }), message: /authorizer is required/ },
    { name: 'spiffeAuth with a non-function authorizer', run: () => spiffeAuth({ authorizer: 'x' as never }), message: /authorizer/ },
    {
      name: 'tuning that sets the certificate',
      run: () => mtlsServerOptions(svids.server, bundles, auth, { tlsOptions: { cert: 'x', rejectUnauthorized: true } }),
      message: /may not set cert, rejectUnauthorized/,
    },
    {
      name: 'plain client options over a source that cannot list its bundles',
      run: () => tlsClientOptions({ getX509BundleForTrustDomain: (td) => bundles.getX509BundleForTrustDomain(td) }, auth),
      message: /cannot list its bundles/,
    },
    {
      // The spellings that were guessed at before x509Bundles() are not listings any more.
      name: 'plain client options over a source that lists only through bundles() or getX509BundleSet()',
      run: () =>
        tlsClientOptions(
          {
            getX509BundleForTrustDomain: (td) => bundles.getX509BundleForTrustDomain(td),
            bundles: () => bundles.bundles(),
            getX509BundleSet: () => bundles,
          } as X509BundleSource,
          auth,
        ),
      message: /no x509Bundles\(\)/,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, () => {
      assert.throws(c.run, (err: Error) => err instanceof TypeError && c.message.test(err.message));
    });
  }
  it('connectHttp2 refuses a missing authorizer', async () => {
    await assert.rejects(connectHttp2('https://localhost:1', { bundleSource: bundles } as never), TypeError);
  });
  it('accepts the valid counterparts', () => {
    assert.ok(mtlsServerOptions(svids.server, bundles, auth, { resumption: true, tlsOptions: { ALPNProtocols: ['h2'] } }));
    assert.ok(tlsClientOptions({ getX509BundleForTrustDomain: (td) => bundles.getX509BundleForTrustDomain(td), x509Bundles: () => bundles.bundles() }, auth));
    assert.ok(createSpiffeHttpsAgent({ bundleSource: { getX509BundleForTrustDomain: (td) => bundles.getX509BundleForTrustDomain(td) }, authorizer: auth }));
    assert.ok(spiffeAuth({ authorizer: authorizeAny() }));
  });
});

/** A server presenting `svid`, recording every byte of application data it receives. */
async function recordingServer(svid: TestSvid) {
  const received: Buffer[] = [];
  const server = trackSockets(
    tls.createServer({ cert: svid.certPem, key: svid.keyPem }, (socket) => {
      socket.on('data', (d: Buffer) => {
        received.push(d);
        socket.end('pong');
      });
      socket.on('error', () => {});
    }),
  );
  const port = await listenLocal(server);
  return { server, port, received };
}

describe('plain client options (tls.connect)', () => {
  const connect = (port: number, options: tls.ConnectionOptions, writeEarly = true) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options });
    if (writeEarly) socket.write('EARLY SECRET');
    return collect(socket);
  };

  it('authenticate the expected server and present the client SVID', async () => {
    const { server, port, received } = await recordingServer(minted.server);
    try {
      const result = await connect(port, mtlsClientOptions(svids.client, bundles, authorizeId(SERVER)));
      assert.equal(result.error, undefined);
      assert.equal(result.data.startsWith('pong'), true);
      assert.equal(Buffer.concat(received).toString(), 'EARLY SECRET');
    } finally {
      await closeServer(server);
    }
  });

  const rejections: Array<{ name: string; svid: TestSvid; check: (err: Error | undefined) => void }> = [
    {
      name: 'an unexpected ID, with a TlsPeerError',
      svid: minted.other,
      check: (err) => {
        assert.ok(err instanceof TlsPeerError);
        assert.equal(err.message, 'tls: unexpected ID "spiffe://example.org/other"');
      },
    },
    {
      name: 'an other.org leaf signed by example.org, with a TlsPeerError',
      svid: minted.crossServer,
      check: (err) => {
        assert.ok(err instanceof TlsPeerError);
        assert.equal(err.reason?.code, 'ERR_X509SVID_UNTRUSTED');
      },
    },
    {
      name: "an untrusted CA, with OpenSSL's error",
      svid: minted.rogueServer,
      check: (err) => assert.match(String((err as NodeJS.ErrnoException)?.code), /UNABLE_TO|SELF_SIGNED/),
    },
  ];
  for (const c of rejections) {
    it(`reject ${c.name}, and data written before the handshake never reaches the server`, async () => {
      const { server, port, received } = await recordingServer(c.svid);
      try {
        const result = await connect(port, mtlsClientOptions(svids.client, bundles, authorizeOneOf(SERVER, 'spiffe://other.org/server')));
        c.check(result.error);
        assert.equal(result.data, '');
        await delay(30);
        assert.equal(Buffer.concat(received).length, 0);
      } finally {
        await closeServer(server);
      }
    });
  }

  it('read the current bundles on each connection', async () => {
    const live = new X509BundleSet(pki.otherCa.bundle());
    const opts = tlsClientOptions(live, authorizeId(SERVER));
    const { server, port } = await recordingServer(minted.server);
    try {
      const before = await connect(port, opts, false);
      assert.match(String((before.error as NodeJS.ErrnoException)?.code), /UNABLE_TO|SELF_SIGNED/);
      live.add(ca.bundle());
      const socket = tls.connect({ host: '127.0.0.1', port, ...opts });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      socket.destroy();
    } finally {
      await closeServer(server);
    }
  });

  it('trust a bundle whose authority is an intermediate (not self-signed)', async () => {
    const viaIntermediate = pki.intermediate.svid('/server');
    const onlyIntermediate = new X509BundleSet(
      (await import('../bundle/index.js')).X509Bundle.fromAuthorities(ca.trustDomain, [pki.intermediate.certificate]),
    );
    const { server, port } = await recordingServer(viaIntermediate);
    try {
      const socket = tls.connect({ host: '127.0.0.1', port, ...tlsClientOptions(onlyIntermediate, authorizeId(SERVER)) });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      socket.destroy();
    } finally {
      await closeServer(server);
    }
  });

  it('carry agent: false so https.request does not pool them with other authorizers', () => {
    assert.equal(mtlsClientOptions(svids.client, bundles, authorizeId(SERVER)).agent, false);
    assert.equal(mtlsWebClientOptions(svids.client).agent, false);
  });
});
