import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { authorizeId } from '../authorize/index.js';
import { TlsConnectionError } from '../errors.js';
import { connectHttp2 } from '../http2/index.js';
import { createTlsServer, dial, mtlsServerOptions } from './index.js';
import { closeServer, listenLocal, makePki, trackSockets } from './testing/fixtures.js';

// The client helpers fail with a TlsConnectionError (one class, one code per cause), never a
// bare Error, when a connection ends before the server was authenticated.
const { svids, bundles } = makePki();
const SERVER = 'spiffe://example.org/server';
const CLIENT = 'spiffe://example.org/client';

function isConnectionError(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof TlsConnectionError, `expected a TlsConnectionError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, /^(tls|connectHttp2): /);
    return true;
  };
}

describe('client connection failures', () => {
  const sockets = new Set<net.Socket>();
  let silent: net.Server;
  before(async () => {
    // Accepts and never answers the ClientHello.
    silent = net.createServer((socket) => sockets.add(socket));
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await closeServer(silent);
  });

  const params = { mode: 'mtls' as const, svidSource: svids.client, bundleSource: bundles, authorizer: authorizeId(SERVER) };

  it('a handshake that does not complete in time: ERR_TLS_HANDSHAKE_TIMEOUT', async () => {
    const port = await listenLocal(silent);
    await assert.rejects(dial({ host: '127.0.0.1', port, timeoutMs: 300, ...params }), isConnectionError('ERR_TLS_HANDSHAKE_TIMEOUT'));
  });

  it('a server that does not agree to HTTP/2: ERR_HTTP2_NOT_NEGOTIATED', async () => {
    // A SPIFFE TLS server without ALPN: the handshake completes, with no protocol agreed.
    const server = trackSockets(createTlsServer(mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT)), (socket) => socket.end()));
    const port = await listenLocal(server);
    try {
      await assert.rejects(
        connectHttp2(`https://127.0.0.1:${port}`, { svidSource: svids.client, bundleSource: bundles, authorizer: authorizeId(SERVER) }),
        isConnectionError('ERR_HTTP2_NOT_NEGOTIATED'),
      );
    } finally {
      await closeServer(server);
    }
  });
});
