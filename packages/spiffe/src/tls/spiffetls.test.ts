import assert from 'node:assert/strict';
import { once } from 'node:events';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { authorizeId, authorizeOneOf } from '../authorize/index.js';
import { AuthorizationError, TlsPeerError, X509SvidError } from '../errors.js';
import type { TestSvid } from '../testing/ca.js';
import type { X509Svid } from '../svid/x509/index.js';
import { createTlsServer, dial, formatTlsHandshakeError, listen, peerIdFromSocket, tlsServerOptions, type SpiffeTlsMode } from './index.js';
import { closeServer, collect, listenLocal, makePki, trackSockets } from './testing/fixtures.js';

const pki = makePki();
const { minted, svids, bundles } = pki;
const CLIENT = 'spiffe://example.org/client';
const SERVER = 'spiffe://example.org/server';

interface Rejection {
  err: TlsPeerError;
  line: string;
}

/** A SPIFFE server, recording rejections and what authenticated clients sent. */
async function startServer(mode: 'mtls' | 'mtls-web') {
  const rejections: Rejection[] = [];
  const accepted: string[] = [];
  const server = trackSockets(
    listen(
      {
        port: 0,
        host: '127.0.0.1',
        mode,
        svidSource: mode === 'mtls' ? svids.server : undefined,
        webIdentity: mode === 'mtls-web' ? { cert: pki.web.cert, key: pki.web.key } : undefined,
        bundleSource: bundles,
        authorizer: authorizeOneOf(CLIENT, 'spiffe://other.org/client'),
      },
      (socket) => {
        const id = String(peerIdFromSocket(socket));
        accepted.push(id);
        socket.once('data', () => socket.end(`${id}\n`));
      },
    ),
  );
  server.on('spiffeRejected', (err: TlsPeerError, socket: tls.TLSSocket) => {
    rejections.push({ err, line: formatTlsHandshakeError(err, socket) });
  });
  const port = await listenLocal(server);
  return { server, port, rejections, accepted };
}

/** A plain node:tls client presenting `svid` (or nothing), trusting everything. */
async function rawClient(port: number, svid: TestSvid | undefined, host = '127.0.0.1') {
  const socket = tls.connect({
    host,
    port,
    ...(svid ? { cert: svid.certPem, key: svid.keyPem } : {}),
    rejectUnauthorized: false,
  });
  socket.write('hello\n');
  return collect(socket);
}

const clientCases: Array<{
  name: string;
  svid: TestSvid | undefined;
  accept?: string;
  code?: string;
  reason?: { type: new (...a: never[]) => Error; code: string };
  message?: RegExp;
}> = [
  { name: 'the expected client', svid: minted.client, accept: CLIENT },
  { name: 'an expected client whose SVID has an intermediate CA', svid: minted.clientViaIntermediate, accept: CLIENT },
  { name: 'an expected client of a federated trust domain', svid: minted.otherTdClient, accept: 'spiffe://other.org/client' },
  {
    name: 'a client with an unexpected ID',
    svid: minted.other,
    code: 'ERR_TLS_PEER_REJECTED',
    reason: { type: AuthorizationError, code: 'ERR_UNAUTHORIZED_ID' },
    message: /^tls: unexpected ID "spiffe:\/\/example\.org\/other"$/,
  },
  {
    name: 'a client from an untrusted CA',
    svid: minted.rogueClient,
    code: 'ERR_TLS_PEER_REJECTED',
    reason: { type: X509SvidError, code: 'ERR_X509SVID_UNTRUSTED' },
    message: /^tls: x509svid: /,
  },
  {
    name: 'a client with an expired SVID',
    svid: minted.expiredClient,
    code: 'ERR_TLS_PEER_REJECTED',
    reason: { type: X509SvidError, code: 'ERR_X509SVID_EXPIRED' },
  },
  {
    name: 'an other.org leaf signed by example.org (both bundles in the set)',
    svid: minted.crossClient,
    code: 'ERR_TLS_PEER_REJECTED',
    reason: { type: X509SvidError, code: 'ERR_X509SVID_UNTRUSTED' },
    message: /other\.org/,
  },
  {
    name: 'a client without a certificate',
    svid: undefined,
    code: 'ERR_TLS_NO_PEER_CERTIFICATE',
    message: /^tls: the client presented no certificate/,
  },
];

for (const mode of ['mtls', 'mtls-web'] as const) {
  describe(`listen (${mode}): authenticating clients`, () => {
    let ctx: Awaited<ReturnType<typeof startServer>>;
    before(async () => {
      ctx = await startServer(mode);
    });
    after(() => closeServer(ctx.server));

    for (const c of clientCases) {
      it(`${c.accept ? 'accepts' : 'rejects'} ${c.name}`, async () => {
        const before = { rejections: ctx.rejections.length, accepted: ctx.accepted.length };
        const result = await rawClient(ctx.port, c.svid);
        if (c.accept) {
          assert.equal(result.data, `${c.accept}\n`);
          assert.equal(ctx.rejections.length, before.rejections);
          return;
        }
        assert.equal(result.data, '', 'a rejected client must get no answer');
        assert.equal(ctx.accepted.length, before.accepted, 'no listener may see a rejected client');
        assert.equal(ctx.rejections.length, before.rejections + 1);
        const { err, line } = ctx.rejections.at(-1)!;
        assert.ok(err instanceof TlsPeerError);
        assert.equal(err.code, c.code);
        assert.match(err.message, /^tls: /);
        if (c.reason) {
          assert.ok(err.reason instanceof c.reason.type);
          assert.equal(err.reason.code, c.reason.code);
          assert.ok(err.message.includes(err.reason.message));
        }
        if (c.message) assert.match(err.message, c.message);
        assert.match(line, /^TLS handshake error from 127\.0\.0\.1:\d+: /);
        if (c.name === 'a client with an unexpected ID') {
          assert.match(line, /^TLS handshake error from 127\.0\.0\.1:\d+: unexpected ID "spiffe:\/\/example\.org\/other"$/);
        }
      });
    }
  });
}

/** A server presenting `identity`, recording the bytes it receives. */
async function serverPresenting(identity: { cert: string; key: string }) {
  const received: Buffer[] = [];
  const server = trackSockets(
    tls.createServer({ ...identity }, (socket) => {
      socket.on('data', (d: Buffer) => {
        received.push(d);
        socket.write('pong\n');
      });
      socket.on('error', () => {});
    }),
  );
  const port = await listenLocal(server);
  return { server, port, received };
}

const pem = (svid: TestSvid) => ({ cert: svid.certPem, key: svid.keyPem });

const serverCases: Array<{
  name: string;
  identity: { cert: string; key: string };
  accept?: string;
  reasonCode?: string;
  message?: RegExp;
}> = [
  { name: 'the expected server', identity: pem(minted.server), accept: SERVER },
  {
    name: 'a server with an unexpected ID',
    identity: pem(minted.other),
    reasonCode: 'ERR_UNAUTHORIZED_ID',
    message: /^tls: unexpected ID "spiffe:\/\/example\.org\/other"$/,
  },
  { name: 'a server from an untrusted CA', identity: pem(minted.rogueServer), reasonCode: 'ERR_X509SVID_UNTRUSTED' },
  { name: 'a server with an expired SVID', identity: pem(minted.expiredServer), reasonCode: 'ERR_X509SVID_EXPIRED' },
  {
    name: 'an other.org leaf signed by example.org (both bundles in the set)',
    identity: pem(minted.crossServer),
    reasonCode: 'ERR_X509SVID_UNTRUSTED',
  },
  { name: 'a server with a Web PKI certificate', identity: { cert: pki.web.cert, key: pki.web.key }, reasonCode: 'ERR_X509SVID_INVALID' },
];

for (const mode of ['tls', 'mtls'] as const satisfies SpiffeTlsMode[]) {
  describe(`dial (${mode}): authenticating servers`, () => {
    for (const c of serverCases) {
      it(`${c.accept ? 'accepts' : 'rejects'} ${c.name}`, async () => {
        const { server, port, received } = await serverPresenting(c.identity);
        try {
          const attempt = dial({
            host: '127.0.0.1',
            port,
            mode,
            svidSource: mode === 'mtls' ? svids.client : undefined,
            bundleSource: bundles,
            authorizer: authorizeOneOf(SERVER, 'spiffe://other.org/server'),
          });
          if (c.accept) {
            const socket = await attempt;
            assert.equal(String(peerIdFromSocket(socket)), c.accept);
            assert.equal(socket.authorized, true);
            socket.write('ping\n');
            await once(socket, 'data');
            socket.destroy();
            return;
          }
          const err = await attempt.then(
            () => assert.fail('dial must reject'),
            (e: unknown) => e,
          );
          assert.ok(err instanceof TlsPeerError, String(err));
          assert.equal(err.code, 'ERR_TLS_PEER_REJECTED');
          assert.match(err.message, /^tls: /);
          assert.equal(err.reason?.code, c.reasonCode);
          if (c.message) assert.match(err.message, c.message);
          await new Promise((r) => setTimeout(r, 50));
          assert.equal(Buffer.concat(received).length, 0, 'nothing may reach a rejected server');
        } finally {
          await closeServer(server);
        }
      });
    }
  });
}

describe('the rejected side', () => {
  it('a client refused by the server gets no data and a closed connection; the server names the ID', async () => {
    const ctx = await startServer('mtls');
    try {
      for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
        const outcome = await dial({
          host: '127.0.0.1',
          port: ctx.port,
          svidSource: svids.other,
          bundleSource: bundles,
          authorizer: authorizeId(SERVER),
          tlsOptions: { maxVersion },
        }).then(
          async (socket) => {
            socket.write('hello\n');
            return collect(socket);
          },
          (err: Error) => ({ data: '', error: err }),
        );
        assert.equal(outcome.data, '');
        assert.match(ctx.rejections.at(-1)!.err.message, /^tls: unexpected ID "spiffe:\/\/example\.org\/other"$/);
      }
    } finally {
      await closeServer(ctx.server);
    }
  });

  it('a server refused by the client never sees the connection as established', async () => {
    const accepted: unknown[] = [];
    const server = trackSockets(createTlsServer(tlsServerOptions(svids.other), (s) => accepted.push(s)));
    const port = await listenLocal(server);
    try {
      await assert.rejects(
        dial({
          host: '127.0.0.1',
          port,
          mode: 'tls',
          bundleSource: bundles,
          authorizer: authorizeId(SERVER),
          tlsOptions: { maxVersion: 'TLSv1.3' },
        }),
        { code: 'ERR_TLS_PEER_REJECTED', message: 'tls: unexpected ID "spiffe://example.org/other"' },
      );
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(accepted.length, 0);
    } finally {
      await closeServer(server);
    }
  });
});

describe('dial (mtls-web)', () => {
  let ctx: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    ctx = await startServer('mtls-web');
  });
  after(() => closeServer(ctx.server));

  const cases: Array<{ name: string; host: string; ca?: string; svid: X509Svid; ok?: boolean; code?: string }> = [
    { name: 'trusts the Web PKI server by CA and host name', host: 'localhost', ca: pki.web.ca, svid: svids.client, ok: true },
    {
      name: 'rejects the server when its CA is not trusted',
      host: 'localhost',
      svid: svids.client,
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    },
    {
      name: 'rejects the server when the host name does not match',
      host: '127.0.0.1',
      ca: pki.web.ca,
      svid: svids.client,
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const attempt = dial({ host: c.host, port: ctx.port, mode: 'mtls-web', svidSource: c.svid, ...(c.ca ? { webCa: c.ca } : {}) });
      if (c.ok) {
        const socket = await attempt;
        assert.equal(peerIdFromSocket(socket), undefined, 'a Web PKI server has no SPIFFE ID');
        socket.write('hi\n');
        const { data } = await collect(socket);
        assert.equal(data, `${CLIENT}\n`);
        return;
      }
      await assert.rejects(attempt, (err: NodeJS.ErrnoException) => {
        assert.match(String(err.code), new RegExp(`^(${c.code})$`));
        return true;
      });
    });
  }

  it('the Web PKI server still rejects an unexpected client SVID', async () => {
    const socket = await dial({ host: 'localhost', port: ctx.port, mode: 'mtls-web', svidSource: svids.other, webCa: pki.web.ca }).catch(
      () => undefined,
    );
    if (socket) {
      socket.write('hi\n');
      assert.equal((await collect(socket)).data, '');
    }
    assert.match(ctx.rejections.at(-1)!.err.message, /^tls: unexpected ID "spiffe:\/\/example\.org\/other"$/);
  });
});

describe('dial argument checks', () => {
  const cases: Array<{ name: string; options: Record<string, unknown>; message: RegExp }> = [
    { name: 'no authorizer', options: { port: 1, svidSource: svids.client, bundleSource: bundles }, message: /authorizer is required/ },
    {
      name: 'no bundle source',
      options: { port: 1, svidSource: svids.client, authorizer: authorizeId(SERVER) },
      message: /X509BundleSource/,
    },
    {
      name: 'no SVID source in mtls mode',
      options: { port: 1, bundleSource: bundles, authorizer: authorizeId(SERVER) },
      message: /X509SvidSource/,
    },
    {
      name: 'an unknown mode',
      options: { port: 1, mode: 'plain', bundleSource: bundles, authorizer: authorizeId(SERVER) },
      message: /mode must be/,
    },
    { name: 'a bad port', options: { port: 0, mode: 'tls', bundleSource: bundles, authorizer: authorizeId(SERVER) }, message: /port/ },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      await assert.rejects(dial(c.options as never), (err: Error) => err instanceof TypeError && c.message.test(err.message));
    });
  }
  it('accepts the valid counterpart (tls mode needs no SVID source)', async () => {
    const server = trackSockets(createTlsServer(tlsServerOptions(svids.server), (s) => s.end()));
    const port = await listenLocal(server);
    try {
      const socket = await dial({ port, host: '127.0.0.1', mode: 'tls', bundleSource: bundles, authorizer: authorizeId(SERVER) });
      assert.equal(String(peerIdFromSocket(socket)), SERVER);
      socket.destroy();
    } finally {
      await closeServer(server);
    }
  });

  it('listen refuses a mode without its sources', () => {
    assert.throws(() => listen({ port: 0, mode: 'mtls', svidSource: svids.server, bundleSource: bundles }), /authorizer is required/);
    assert.throws(() => listen({ port: 0, mode: 'tls' }), /X509SvidSource/);
  });
});
