/**
 * `listen` and `dial`, after go-spiffe's `spiffetls`: a listening SPIFFE TLS server and an
 * authenticated client connection in one call.
 *
 * @module
 */
import type { ConnectionOptions, TLSSocket, TlsOptions } from 'node:tls';
import type tls from 'node:tls';
import type { Authorizer } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import type { X509SvidSource } from '../svid/x509/index.js';
import { connectVerified, type ClientConfig } from './connect.js';
import type { SpiffeTlsMode } from './mode.js';
import { mtlsServerOptions, mtlsWebServerOptions, tlsServerOptions, type SpiffeServerOptions, type WebIdentity } from './server-options.js';
import { createTlsServer } from './server.js';
import { assertAuthorizer, assertBundleSource, assertSvidSource } from './sources.js';

/**
 * Options of {@link listen}.
 *
 * @example
 * ```ts
 * const options: ListenOptions = { port: 55555, mode: 'mtls', svidSource: source, bundleSource: source, authorizer };
 * ```
 */
export interface ListenOptions {
  /** The port (0 picks a free one; read it from `server.address()`). */
  port: number;
  /** The address to bind (default: all interfaces, as `net.Server.listen`). */
  host?: string;
  /** `'mtls'` (default), `'tls'` or `'mtls-web'`. */
  mode?: SpiffeTlsMode;
  /** The server's SVID (`'tls'`, `'mtls'`). */
  svidSource?: X509SvidSource;
  /** Bundles for client SVIDs (`'mtls'`, `'mtls-web'`). */
  bundleSource?: X509BundleSource;
  /** Which client IDs may connect (`'mtls'`, `'mtls-web'`). */
  authorizer?: Authorizer;
  /** The Web PKI certificate and key (`'mtls-web'`). */
  webIdentity?: WebIdentity;
  /** See {@link SpiffeServerTuning.resumption}. */
  resumption?: boolean;
  /** Further server options (see {@link SpiffeServerTuning.tlsOptions}). */
  tlsOptions?: TlsOptions;
}

/**
 * Options of {@link dial}.
 *
 * @example
 * ```ts
 * const options: DialOptions = { host: '127.0.0.1', port: 55555, svidSource: source, bundleSource: source, authorizer };
 * ```
 */
export interface DialOptions {
  port: number;
  /** Default `'localhost'`. */
  host?: string;
  /** SNI name to send (default: `host` unless it is an IP address). */
  servername?: string;
  /** `'mtls'` (default), `'tls'` or `'mtls-web'`. */
  mode?: SpiffeTlsMode;
  /** The client's SVID (`'mtls'`, `'mtls-web'`). */
  svidSource?: X509SvidSource;
  /** Bundles for the server's SVID (`'tls'`, `'mtls'`). */
  bundleSource?: X509BundleSource;
  /** Which server IDs are acceptable (`'tls'`, `'mtls'`). */
  authorizer?: Authorizer;
  /** `'mtls-web'`: CAs to trust instead of the system store. */
  webCa?: string | Buffer | Array<string | Buffer>;
  /** Give up (socket destroyed, promise rejected) after this long. */
  timeoutMs?: number;
  /** Abort the attempt. */
  signal?: AbortSignal;
  /** Further `tls.connect` options (ALPN protocols, local address...); trust options are ignored. */
  tlsOptions?: ConnectionOptions;
}

function modeOf(mode: unknown, where: string): SpiffeTlsMode {
  const m = mode ?? 'mtls';
  if (m !== 'tls' && m !== 'mtls' && m !== 'mtls-web') {
    throw new TypeError(`${where}: mode must be 'tls', 'mtls' or 'mtls-web', got ${JSON.stringify(m)}`);
  }
  return m;
}

function serverOptionsFor(options: ListenOptions): SpiffeServerOptions {
  const mode = modeOf(options.mode, 'listen');
  const tuning = { resumption: options.resumption ?? false, tlsOptions: options.tlsOptions ?? {} };
  switch (mode) {
    case 'tls':
      return tlsServerOptions(options.svidSource as X509SvidSource, tuning);
    case 'mtls':
      return mtlsServerOptions(
        options.svidSource as X509SvidSource,
        options.bundleSource as X509BundleSource,
        options.authorizer as Authorizer,
        tuning,
      );
    case 'mtls-web':
      return mtlsWebServerOptions(
        options.webIdentity as WebIdentity,
        options.bundleSource as X509BundleSource,
        options.authorizer as Authorizer,
        tuning,
      );
  }
}

/**
 * Creates a SPIFFE TLS server (see {@link createTlsServer}) and starts listening. Returns the
 * server at once; wait for `'listening'` (or watch `'error'`) as with `net.Server.listen`.
 *
 * @param options - Port, address, mode and the sources and authorizer the mode needs.
 * @param connectionListener - Called with each authenticated socket.
 * @throws `TypeError` when the mode's source or authorizer is missing.
 * @example
 * ```ts
 * import { once } from 'node:events';
 * import { listen, peerIdFromSocket } from '@spiffe-node/spiffe/tls';
 * const server = listen(
 *   { port: 55555, svidSource: source, bundleSource: source, authorizer: authorizeId('spiffe://example.org/client') },
 *   (socket) => socket.once('data', (msg) => { console.log(`${msg}`); socket.end('Hello client\n'); }),
 * );
 * await once(server, 'listening');
 * ```
 */
export function listen(options: ListenOptions, connectionListener?: (socket: TLSSocket) => void): tls.Server {
  if (options === null || typeof options !== 'object') throw new TypeError('listen: expected an options object');
  const server = createTlsServer(serverOptionsFor(options), connectionListener);
  if (options.host === undefined) server.listen(options.port);
  else server.listen(options.port, options.host);
  return server;
}

function clientConfigForDial(options: DialOptions): ClientConfig {
  const mode = modeOf(options.mode, 'dial');
  if (mode !== 'tls') assertSvidSource(options.svidSource, `dial (mode '${mode}')`);
  if (mode !== 'mtls-web') {
    assertBundleSource(options.bundleSource, `dial (mode '${mode}')`);
    assertAuthorizer(options.authorizer, `dial (mode '${mode}')`);
  }
  return {
    mode,
    svidSource: mode === 'tls' ? undefined : options.svidSource,
    bundleSource: options.bundleSource,
    authorizer: options.authorizer,
    webCa: options.webCa,
  };
}

/**
 * Connects to a SPIFFE TLS server and resolves with the socket once the server is
 * authenticated: its X509-SVID verified against the bundle of its own trust domain and
 * accepted by the authorizer (or, in `'mtls-web'` mode, its Web PKI certificate and host
 * name). The socket is handed over only then, so nothing you write can reach a server that is
 * refused. The server's ID: {@link peerIdFromSocket}.
 *
 * Each call reads the SVID and bundles current at that moment.
 *
 * @param options - Address, mode, sources, authorizer, timeout.
 * @returns The connected, authenticated socket.
 * @throws `TypeError` (synchronously, as a rejected promise) when the mode's source or
 *   authorizer is missing; rejects with {@link TlsPeerError} (`ERR_TLS_PEER_REJECTED`,
 *   `ERR_TLS_NO_PEER_CERTIFICATE`) for a refused server, or the network error.
 * @example
 * ```ts
 * import { dial, peerIdFromSocket } from '@spiffe-node/spiffe/tls';
 * const socket = await dial({
 *   host: '127.0.0.1', port: 55555,
 *   svidSource: source, bundleSource: source,
 *   authorizer: authorizeId('spiffe://example.org/server'),
 * });
 * socket.write('Hello server\n');
 * socket.once('data', (reply) => { console.log(`${peerIdFromSocket(socket)} says ${reply}`); socket.end(); });
 * ```
 */
export async function dial(options: DialOptions): Promise<TLSSocket> {
  if (options === null || typeof options !== 'object') throw new TypeError('dial: expected an options object');
  if (!Number.isInteger(options.port) || options.port <= 0 || options.port > 65535) {
    throw new TypeError(`dial: port must be an integer from 1 to 65535, got ${String(options.port)}`);
  }
  const config = clientConfigForDial(options);
  const base: ConnectionOptions = {
    ...(options.tlsOptions ?? {}),
    host: options.host ?? 'localhost',
    port: options.port,
    ...(options.servername === undefined ? {} : { servername: options.servername }),
  };
  return connectVerified(config, base, { signal: options.signal, timeoutMs: options.timeoutMs });
}
