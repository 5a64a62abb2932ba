/**
 * The client side of the helpers: connect, authenticate the server, and only then hand the
 * socket over.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import tls, { type ConnectionOptions, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { TlsConnectionError } from '../errors.js';
import type { Authorizer } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import type { X509SvidSource } from '../svid/x509/index.js';
import { MIN_TLS_VERSION, verifyingClientContext } from './credentials.js';
import { mtlsWebClientOptions, type SpiffeClientOptions } from './client-options.js';
import type { SpiffeTlsMode } from './mode.js';
import { authorizePeer, recordVerifiedPeer } from './peer.js';
import { toTlsPeerError } from './peer-error.js';
import { refuseServerRenegotiation } from './renegotiation.js';
import { assertAuthorizer, assertBundleSource, assertSvidSource } from './sources.js';
import { serverVerificationsFor } from './verified-peers.js';

/** @internal What a client helper presents and how it authenticates the server. */
export interface ClientConfig {
  readonly mode: SpiffeTlsMode;
  readonly svidSource: X509SvidSource | undefined;
  readonly bundleSource: X509BundleSource | undefined;
  readonly authorizer: Authorizer | undefined;
  /** `'mtls-web'` only: CAs to trust instead of the system store. */
  readonly webCa: string | Buffer | Array<string | Buffer> | undefined;
}

/**
 * The options of the client helpers that authenticate a SPIFFE server
 * ({@link createSpiffeHttpsAgent}, {@link undici!createSpiffeDispatcher}, {@link connectHttp2},
 * {@link grpc!grpcChannelCredentials}). With `svidSource` the client presents its SVID (mTLS);
 * without, it presents nothing (TLS).
 *
 * @example
 * ```ts
 * const params: SpiffeClientParams = {
 *   svidSource: source,
 *   bundleSource: source,
 *   authorizer: authorizeId('spiffe://example.org/server'),
 * };
 * ```
 */
export interface SpiffeClientParams {
  /** The client's SVID source; without one the client presents no certificate (`'tls'` mode). */
  svidSource?: X509SvidSource;
  /** Trust bundles for the server's SVID (any X509BundleSource). */
  bundleSource: X509BundleSource;
  /** Required: which server IDs are acceptable. */
  authorizer: Authorizer;
}

/** @internal Checks the helper parameters and turns them into a client configuration. */
export function clientConfigFrom(params: SpiffeClientParams, where: string): ClientConfig {
  if (params === null || typeof params !== 'object') throw new TypeError(`${where}: expected an options object`);
  if (params.svidSource !== undefined) assertSvidSource(params.svidSource, where);
  assertBundleSource(params.bundleSource, where);
  assertAuthorizer(params.authorizer, where);
  return {
    mode: params.svidSource === undefined ? 'tls' : 'mtls',
    svidSource: params.svidSource,
    bundleSource: params.bundleSource,
    authorizer: params.authorizer,
    webCa: undefined,
  };
}

/** Web PKI client options per configuration, so that their context cache is kept. */
const webOptions = new WeakMap<ClientConfig, SpiffeClientOptions>();

/** Options that decide trust and identity; the caller's values for them are dropped. */
const CONTROLLED = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'secureContext',
  'rejectUnauthorized',
  'checkServerIdentity',
  'session',
] as const;

/**
 * @internal Fresh `tls.connect` options for one connection: the SVID current now, and (except
 * for `'mtls-web'`) no OpenSSL verdict: the server is verified in {@link connectVerified}.
 */
function connectionOptions(config: ClientConfig, base: ConnectionOptions): ConnectionOptions {
  const options: ConnectionOptions = { ...base };
  for (const key of CONTROLLED) delete (options as Record<string, unknown>)[key];
  if (options.servername === undefined && typeof options.host === 'string' && options.host !== '' && isIP(options.host) === 0) {
    options.servername = options.host;
  }
  options.minVersion ??= MIN_TLS_VERSION;
  if (config.mode === 'mtls-web') {
    let web = webOptions.get(config);
    if (web === undefined) {
      web = mtlsWebClientOptions(config.svidSource as X509SvidSource, config.webCa === undefined ? {} : { ca: config.webCa });
      webOptions.set(config, web);
    }
    return { ...options, secureContext: web.secureContext, rejectUnauthorized: true };
  }
  const svid = config.mode === 'mtls' ? (config.svidSource as X509SvidSource).getX509Svid() : undefined;
  return {
    ...options,
    secureContext: verifyingClientContext(svid),
    // OpenSSL has an empty trust store here and would always object; the SPIFFE check below
    // replaces it, and the socket is handed over only when that check passed.
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  };
}

/** @internal Extra knobs of {@link connectVerified}. */
export interface ConnectControl {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

function timeoutError(ms: number): Error {
  return new TlsConnectionError('ERR_TLS_HANDSHAKE_TIMEOUT', `tls: the TLS handshake did not complete within ${ms} ms`);
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error
    ? reason
    : new TlsConnectionError('ERR_TLS_ABORTED', 'tls: the connection attempt was aborted', { cause: reason });
}

/**
 * @internal Opens a TLS connection and resolves with the socket once the server is
 * authenticated (SPIFFE verification and authorizer, or Web PKI for `'mtls-web'`). Nothing is
 * written to the socket before that; on failure the socket is destroyed and the promise
 * rejects with a {@link TlsPeerError} (or the network error).
 *
 * No TLS session is ever offered (a caller's `session` is dropped), and the server is verified
 * in full on every connection, whether or not the server resumed one. A server that
 * renegotiates afterwards is refused (see `renegotiation.ts`).
 */
export function connectVerified(config: ClientConfig, base: ConnectionOptions, control: ConnectControl = {}): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    const { signal, timeoutMs } = control;
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    let socket: TLSSocket;
    try {
      socket = tls.connect(connectionOptions(config, base));
    } catch (err) {
      reject(err);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      socket.removeListener('secureConnect', onSecure);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (timer !== undefined) clearTimeout(timer);
    };
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error): void => fail(err);
    const onClose = (): void =>
      fail(new TlsConnectionError('ERR_TLS_CONNECTION_CLOSED', 'tls: the connection closed before the TLS handshake completed'));
    const onAbort = (): void => fail(abortError(signal as AbortSignal));
    function onSecure(): void {
      if (config.mode !== 'mtls-web') {
        try {
          const bundleSource = config.bundleSource as X509BundleSource;
          const verified = authorizePeer(
            serverVerificationsFor(bundleSource).verify(socket, bundleSource),
            config.authorizer as Authorizer,
          );
          recordVerifiedPeer(socket, verified);
        } catch (err) {
          fail(toTlsPeerError(err));
          return;
        }
      }
      cleanup();
      refuseServerRenegotiation(socket);
      resolve(socket);
    }
    socket.once('secureConnect', onSecure);
    socket.on('error', onError);
    socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined && timeoutMs > 0) timer = setTimeout(() => fail(timeoutError(timeoutMs)), timeoutMs);
  });
}
