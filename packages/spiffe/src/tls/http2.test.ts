import assert from 'node:assert/strict';
import type http2 from 'node:http2';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { authorizeId } from '../authorize/index.js';
import { TlsPeerError } from '../errors.js';
import { mtlsServerOptions, peerIdFromSocket } from './index.js';
import { connectHttp2, createHttp2SecureServer } from '../http2/index.js';
import { closeServer, delay, listenLocal, makePki, trackSockets } from './testing/fixtures.js';

const pki = makePki();
const { minted, svids, bundles } = pki;
const CLIENT = 'spiffe://example.org/client';
const SERVER = 'spiffe://example.org/server';

function get(session: http2.ClientHttp2Session): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': '/' });
    let body = '';
    let status = 0;
    req.setEncoding('utf8');
    req.on('response', (headers) => (status = Number(headers[':status'])));
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
    req.end();
  });
}

describe('http2: createHttp2SecureServer and connectHttp2', () => {
  let server: http2.Http2SecureServer;
  let port: number;
  const streams: string[] = [];
  const rejected: TlsPeerError[] = [];
  before(async () => {
    server = trackSockets(createHttp2SecureServer(mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT))));
    server.on('stream', (stream) => {
      const id = String(peerIdFromSocket(stream.session?.socket));
      streams.push(id);
      stream.respond({ ':status': 200 });
      stream.end(`hello ${id}`);
    });
    server.on('spiffeRejected', (err: TlsPeerError) => rejected.push(err));
    port = await listenLocal(server);
  });
  after(() => closeServer(server));

  it('does an authenticated round trip', async () => {
    const session = await connectHttp2(`https://127.0.0.1:${port}`, {
      svidSource: svids.client,
      bundleSource: bundles,
      authorizer: authorizeId(SERVER),
    });
    try {
      assert.equal(String(peerIdFromSocket(session.socket)), SERVER);
      assert.deepEqual(await get(session), { status: 200, body: `hello ${CLIENT}` });
    } finally {
      session.close();
    }
  });

  it('works with the compatibility API and req.socket', async () => {
    const compat = trackSockets(
      createHttp2SecureServer(mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT)), (req, res) => {
        res.end(`compat ${peerIdFromSocket(req.socket)}`);
      }),
    );
    const compatPort = await listenLocal(compat);
    const session = await connectHttp2(`https://127.0.0.1:${compatPort}`, {
      svidSource: svids.client,
      bundleSource: bundles,
      authorizer: authorizeId(SERVER),
    });
    try {
      assert.deepEqual(await get(session), { status: 200, body: `compat ${CLIENT}` });
    } finally {
      session.close();
      await closeServer(compat);
    }
  });

  it('never opens a session for a rejected client', async () => {
    const count = streams.length;
    const outcome = await connectHttp2(`https://127.0.0.1:${port}`, {
      svidSource: svids.other,
      bundleSource: bundles,
      authorizer: authorizeId(SERVER),
    }).then(
      async (session) => {
        session.on('error', () => {});
        const result = await get(session).catch((err: Error) => err);
        session.destroy();
        return result;
      },
      (err: Error) => err,
    );
    assert.ok(outcome instanceof Error || (outcome.status === 0 && outcome.body === ''), JSON.stringify(outcome));
    await delay(20);
    assert.equal(streams.length, count);
    assert.equal(rejected.at(-1)?.message, 'tls: unexpected ID "spiffe://example.org/other"');
  });

  it('rejects a server with an unexpected ID before HTTP/2 starts', async () => {
    const received: Buffer[] = [];
    const fake = trackSockets(
      tls.createServer({ cert: minted.other.certPem, key: minted.other.keyPem, ALPNProtocols: ['h2'] }, (socket) => {
        socket.on('data', (d: Buffer) => received.push(d));
        socket.on('error', () => {});
      }),
    );
    const fakePort = await listenLocal(fake);
    try {
      await assert.rejects(
        connectHttp2(`https://127.0.0.1:${fakePort}`, { svidSource: svids.client, bundleSource: bundles, authorizer: authorizeId(SERVER) }),
        (err: Error) => err instanceof TlsPeerError && err.message === 'tls: unexpected ID "spiffe://example.org/other"',
      );
      await delay(30);
      assert.equal(Buffer.concat(received).length, 0, 'not even the HTTP/2 preface');
    } finally {
      await closeServer(fake);
    }
  });
});
