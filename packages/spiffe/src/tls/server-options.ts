/**
 * Server option builders, after go-spiffe's `tlsconfig`: what a SPIFFE server presents and how
 * it authenticates its clients.
 *
 * Server options are only a description: hand them to {@link createTlsServer},
 * {@link createHttpsServer}, {@link createHttp2SecureServer} or {@link secureServer}, which
 * install the peer verification, the authorizer and SVID rotation. Used anywhere else they
 * throw (see {@link SpiffeServerOptions}). The context settings such a server gets (cipher
 * order, renegotiation and tickets) are in `server-context-options.ts`.
 *
 * @module
 */
// Not `import type`: api-extractor copies the form of this import into the API reports.
import { type TlsOptions } from 'node:tls';
import type { Authorizer } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import type { X509SvidSource } from '../svid/x509/index.js';
import { MIN_TLS_VERSION } from './credentials.js';
import type { SpiffeTlsMode } from './mode.js';
import { assertAuthorizer, assertBundleSource, assertSvidSource } from './sources.js';

/**
 * An ordinary (Web PKI) certificate and key, as `tls.createSecureContext` takes them, for the
 * server side of the `'mtls-web'` mode.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const web: WebIdentity = { cert: readFileSync('server.crt'), key: readFileSync('server.key') };
 * ```
 */
export interface WebIdentity {
  cert: string | Buffer | Array<string | Buffer>;
  key: string | Buffer | Array<string | Buffer>;
  passphrase?: string;
}

/**
 * Tuning of a SPIFFE server.
 *
 * @example
 * ```ts
 * const opts = mtlsServerOptions(source, source, authorizer, {
 *   tlsOptions: { ALPNProtocols: ['h2', 'http/1.1'] },
 * });
 * ```
 */
export interface SpiffeServerTuning {
  /**
   * Allow TLS session resumption (default `false`). By default the server sends no session
   * tickets and keeps no session cache, so every connection is a full handshake: a resumed
   * session would otherwise skip the chain check against the current bundle and the
   * authorizer, and SVIDs are short-lived anyway. With `true`, resumption is allowed, yet every
   * resumed connection is verified again (chain against the current bundle, then the
   * authorizer) before any listener sees it, and the ticket keys are replaced with each new
   * SVID.
   */
  resumption?: boolean;
  /**
   * Further `tls.createServer` options (ALPN protocols, ciphers, `allowHTTP1` for http2,
   * timeouts). Options that decide identity or trust (`cert`, `key`, `pfx`, `passphrase`,
   * `ca`, `requestCert`, `rejectUnauthorized`, `secureContext`, `SNICallback`, `ticketKeys`,
   * `sessionIdContext`, `pskCallback`) are refused. `secureOptions` given here are kept, with
   * `SSL_OP_NO_RENEGOTIATION` always added: renegotiation is refused.
   */
  tlsOptions?: TlsOptions;
}

/** @internal Where the server configuration hides inside {@link SpiffeServerOptions}. */
const SERVER_CONFIG: unique symbol = Symbol('spiffe.serverConfig');

/** @internal What a server builder decided. */
export interface ServerConfig {
  readonly mode: SpiffeTlsMode;
  readonly builder: string;
  readonly svidSource: X509SvidSource | undefined;
  readonly webIdentity: WebIdentity | undefined;
  readonly bundleSource: X509BundleSource | undefined;
  readonly authorizer: Authorizer | undefined;
  readonly resumption: boolean;
  readonly tlsOptions: TlsOptions;
}

/**
 * Options of a SPIFFE TLS server, made by {@link tlsServerOptions}, {@link mtlsServerOptions}
 * or {@link mtlsWebServerOptions}.
 *
 * They must go to {@link createTlsServer}, {@link createHttpsServer},
 * {@link createHttp2SecureServer}, {@link secureServer} (or {@link listen}). **Fail-closed
 * design:** Node cannot run a custom verifier inside the handshake, so peer verification and
 * the authorizer run in a hook that only those functions install. Handed anywhere else
 * (`https.createServer(opts)`, `tls.createServer({ ...opts })`), the `cert` and `key`
 * properties throw a `TypeError` on first read, so such a server cannot be created at all,
 * rather than starting without authenticating anyone.
 *
 * @example
 * ```ts
 * import https from 'node:https';
 * const opts = mtlsServerOptions(source, source, authorizeId('spiffe://example.org/client'));
 * createHttpsServer(opts, app).listen(8443);   // right
 * https.createServer(opts, app);               // throws TypeError: tls: options from mtlsServerOptions() ...
 * ```
 */
export interface SpiffeServerOptions extends TlsOptions {
  /** @internal */
  readonly [SERVER_CONFIG]: ServerConfig;
}

const CONTROLLED_SERVER_OPTIONS = [
  'cert',
  'key',
  'pfx',
  'passphrase',
  'ca',
  'requestCert',
  'rejectUnauthorized',
  'secureContext',
  'SNICallback',
  'ticketKeys',
  'sessionIdContext',
  'pskCallback',
] as const;

function checkTuning(tuning: SpiffeServerTuning | undefined, where: string): { resumption: boolean; tlsOptions: TlsOptions } {
  if (tuning === undefined) return { resumption: false, tlsOptions: {} };
  if (tuning === null || typeof tuning !== 'object') throw new TypeError(`${where}: tuning must be an object`);
  if (tuning.resumption !== undefined && typeof tuning.resumption !== 'boolean') {
    throw new TypeError(`${where}: tuning.resumption must be a boolean`);
  }
  const tlsOptions = tuning.tlsOptions ?? {};
  if (tlsOptions === null || typeof tlsOptions !== 'object') throw new TypeError(`${where}: tuning.tlsOptions must be an object`);
  const refused = CONTROLLED_SERVER_OPTIONS.filter((k) => (tlsOptions as Record<string, unknown>)[k] !== undefined);
  if (refused.length > 0) {
    throw new TypeError(
      `${where}: tuning.tlsOptions may not set ${refused.join(', ')}: identity and trust come from the SVID and bundle sources`,
    );
  }
  return { resumption: tuning.resumption === true, tlsOptions: { ...tlsOptions } };
}

function misuse(builder: string): TypeError {
  return new TypeError(
    `tls: options from ${builder}() must be passed to createTlsServer(), createHttpsServer(), createHttp2SecureServer() or secureServer(server, options): ` +
      'a server built from them directly would neither authenticate its peers nor rotate its SVID',
  );
}

function serverOptions(config: ServerConfig): SpiffeServerOptions {
  const options: Record<string | symbol, unknown> = {
    ...config.tlsOptions,
    minVersion: config.tlsOptions.minVersion ?? MIN_TLS_VERSION,
    requestCert: config.mode !== 'tls',
    rejectUnauthorized: false,
  };
  for (const name of ['cert', 'key'] as const) {
    Object.defineProperty(options, name, {
      enumerable: true,
      configurable: false,
      get() {
        throw misuse(config.builder);
      },
    });
  }
  Object.defineProperty(options, SERVER_CONFIG, { value: config, enumerable: false, writable: false, configurable: false });
  return options as unknown as SpiffeServerOptions;
}

/** @internal The configuration inside server options, or a TypeError for anything else. */
export function serverConfigOf(options: unknown, where: string): ServerConfig {
  const config = options !== null && typeof options === 'object' ? (options as Partial<SpiffeServerOptions>)[SERVER_CONFIG] : undefined;
  if (config === undefined) {
    throw new TypeError(`${where}: expected options from tlsServerOptions(), mtlsServerOptions() or mtlsWebServerOptions()`);
  }
  return config;
}

/**
 * Options of a server that presents its X509-SVID and does not ask for a client certificate
 * (go-spiffe's `TLSServerConfig`). Pass them to one of the server creators.
 *
 * @param svidSource - Where the server's current SVID comes from (an X509Svid, a file source,
 *   an X509Source); a rotating source rotates the server's certificate.
 * @param tuning - Resumption and further TLS options.
 * @throws `TypeError` for a missing source.
 * @example
 * ```ts
 * import { createTlsServer, tlsServerOptions } from '@spiffe-node/spiffe/tls';
 * const server = createTlsServer(tlsServerOptions(source), (socket) => socket.end('hello\n'));
 * server.listen(55555);
 * ```
 */
export function tlsServerOptions(svidSource: X509SvidSource, tuning?: SpiffeServerTuning): SpiffeServerOptions {
  assertSvidSource(svidSource, 'tlsServerOptions');
  return serverOptions({
    mode: 'tls',
    builder: 'tlsServerOptions',
    svidSource,
    webIdentity: undefined,
    bundleSource: undefined,
    authorizer: undefined,
    ...checkTuning(tuning, 'tlsServerOptions'),
  });
}

/**
 * Options of a server that presents its X509-SVID, requires a client X509-SVID, verifies it
 * against the bundle of the client's own trust domain and then asks the authorizer (go-spiffe's
 * `MTLSServerConfig`). Pass them to one of the server creators.
 *
 * @param svidSource - The server's current SVID.
 * @param bundleSource - Trust bundles, federated ones included (an X509BundleSet, an X509Source).
 * @param authorizer - Required: which client IDs may connect.
 * @param tuning - Resumption and further TLS options.
 * @throws `TypeError` for a missing source or authorizer.
 * @example
 * ```ts
 * import { createHttpsServer, mtlsServerOptions } from '@spiffe-node/spiffe/tls';
 * import { authorizeId } from '@spiffe-node/spiffe';
 * const opts = mtlsServerOptions(source, source, authorizeId('spiffe://example.org/client'));
 * createHttpsServer(opts, (req, res) => res.end('Success!!!')).listen(8443);
 * ```
 */
export function mtlsServerOptions(
  svidSource: X509SvidSource,
  bundleSource: X509BundleSource,
  authorizer: Authorizer,
  tuning?: SpiffeServerTuning,
): SpiffeServerOptions {
  assertSvidSource(svidSource, 'mtlsServerOptions');
  assertBundleSource(bundleSource, 'mtlsServerOptions');
  assertAuthorizer(authorizer, 'mtlsServerOptions');
  return serverOptions({
    mode: 'mtls',
    builder: 'mtlsServerOptions',
    svidSource,
    webIdentity: undefined,
    bundleSource,
    authorizer,
    ...checkTuning(tuning, 'mtlsServerOptions'),
  });
}

/**
 * Options of a server that presents an ordinary Web PKI certificate and authenticates client
 * X509-SVIDs (go-spiffe's `MTLSWebServerConfig`). Pass them to one of the server creators.
 *
 * @param webIdentity - The server's certificate chain and key (PEM or DER).
 * @param bundleSource - Trust bundles for the clients' SVIDs.
 * @param authorizer - Required: which client IDs may connect.
 * @param tuning - Resumption and further TLS options.
 * @throws `TypeError` for a missing certificate, key, source or authorizer.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const opts = mtlsWebServerOptions(
 *   { cert: readFileSync('web.crt'), key: readFileSync('web.key') },
 *   bundles,
 *   authorizeMemberOf('example.org'),
 * );
 * createHttpsServer(opts, app).listen(443);
 * ```
 */
export function mtlsWebServerOptions(
  webIdentity: WebIdentity,
  bundleSource: X509BundleSource,
  authorizer: Authorizer,
  tuning?: SpiffeServerTuning,
): SpiffeServerOptions {
  if (webIdentity === null || typeof webIdentity !== 'object' || !webIdentity.cert || !webIdentity.key) {
    throw new TypeError('mtlsWebServerOptions: expected { cert, key } of the Web PKI certificate the server presents');
  }
  assertBundleSource(bundleSource, 'mtlsWebServerOptions');
  assertAuthorizer(authorizer, 'mtlsWebServerOptions');
  return serverOptions({
    mode: 'mtls-web',
    builder: 'mtlsWebServerOptions',
    svidSource: undefined,
    webIdentity: { ...webIdentity },
    bundleSource,
    authorizer,
    ...checkTuning(tuning, 'mtlsWebServerOptions'),
  });
}
