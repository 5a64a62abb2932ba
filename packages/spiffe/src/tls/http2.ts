/**
 * HTTP/2 with SPIFFE: a secure server and an authenticated client session.
 *
 * @module
 */
import http2 from 'node:http2';
import type { ConnectionOptions } from 'node:tls';
import { TlsConnectionError } from '../errors.js';
import { clientConfigFrom, connectVerified, type SpiffeClientParams } from './connect.js';
import type { SpiffeServerOptions } from './server-options.js';
import { stateFor } from './server.js';

/**
 * Creates an `http2.Http2SecureServer` that presents the SVID (or Web PKI certificate) of
 * `options`, authenticates clients as they say and rotates its SVID. Sessions and streams only
 * come from authenticated clients; the client's ID is
 * {@link peerIdFromSocket}`(stream.session.socket)` (or `req.socket` in the compatibility
 * API). Add `{ tuning: { tlsOptions: { allowHTTP1: true } } }` to the builder for HTTP/1.1
 * clients too. Emits `'spiffeRejected'` and `'spiffeRotationError'` as {@link createTlsServer}
 * does.
 *
 * @param options - From a server options builder.
 * @param onRequest - Compatibility-API request handler.
 * @throws `TypeError` for other options.
 * @example
 * ```ts
 * import { mtlsServerOptions, peerIdFromSocket } from '@spiffe-node/spiffe/tls';
 * import { createHttp2SecureServer } from '@spiffe-node/spiffe/http2';
 * const server = createHttp2SecureServer(mtlsServerOptions(source, source, authorizeAny()));
 * server.on('stream', (stream) => {
 *   stream.respond({ ':status': 200 });
 *   stream.end(`hello ${peerIdFromSocket(stream.session?.socket)}`);
 * });
 * server.listen(8443);
 * ```
 */
export function createHttp2SecureServer(
  options: SpiffeServerOptions,
  onRequest?: (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => void,
): http2.Http2SecureServer {
  const state = stateFor(options, 'createHttp2SecureServer');
  const server =
    onRequest === undefined ? http2.createSecureServer(state.serverOptions()) : http2.createSecureServer(state.serverOptions(), onRequest);
  state.attach(server);
  return server;
}

/**
 * Options of {@link connectHttp2}.
 *
 * @example
 * ```ts
 * const options: ConnectHttp2Options = { svidSource: source, bundleSource: source, authorizer };
 * ```
 */
export interface ConnectHttp2Options extends SpiffeClientParams {
  /** Further `http2.connect` options (settings, ...); its `createConnection` is ours. */
  http2Options?: Omit<http2.ClientSessionOptions, 'createConnection'>;
  /** Give up after this long. */
  timeoutMs?: number;
  /** Abort the attempt. */
  signal?: AbortSignal;
}

/**
 * Opens an HTTP/2 session to a SPIFFE server: connects, authenticates the server's X509-SVID
 * (bundle of its own trust domain, then the authorizer), presents the client's current SVID
 * when `svidSource` is given, and only then starts HTTP/2 on the socket.
 *
 * @param authority - `https://host:port`.
 * @param options - Sources, authorizer and session options.
 * @returns The connected session.
 * @throws `TypeError` for a missing source or authorizer or a non-https authority; rejects with
 *   {@link TlsPeerError} for a refused server.
 * @example
 * ```ts
 * import { connectHttp2 } from '@spiffe-node/spiffe/http2';
 * const session = await connectHttp2('https://localhost:8443', {
 *   svidSource: source, bundleSource: source, authorizer: authorizeId('spiffe://example.org/server'),
 * });
 * const req = session.request({ ':path': '/' });
 * req.setEncoding('utf8');
 * req.on('data', (chunk) => process.stdout.write(chunk));
 * req.on('end', () => session.close());
 * req.end();
 * ```
 */
export async function connectHttp2(authority: string | URL, options: ConnectHttp2Options): Promise<http2.ClientHttp2Session> {
  const config = clientConfigFrom(options, 'connectHttp2');
  const url = typeof authority === 'string' ? new URL(authority) : authority;
  if (!(url instanceof URL) || url.protocol !== 'https:') {
    throw new TypeError('connectHttp2: the authority must be an https:// URL');
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const base: ConnectionOptions = { host, port: url.port === '' ? 443 : Number(url.port), ALPNProtocols: ['h2'] };
  const socket = await connectVerified(config, base, { signal: options.signal, timeoutMs: options.timeoutMs });
  if (socket.alpnProtocol !== 'h2') {
    socket.destroy();
    throw new TlsConnectionError(
      'ERR_HTTP2_NOT_NEGOTIATED',
      `connectHttp2: the server did not agree to HTTP/2 (ALPN ${String(socket.alpnProtocol)})`,
    );
  }
  return http2.connect(url, { ...(options.http2Options ?? {}), createConnection: () => socket });
}
