/**
 * Option builders, after go-spiffe's `tlsconfig`: what a SPIFFE server or client presents and
 * how it authenticates its peer.
 *
 * Server options are only a description: hand them to {@link createTlsServer},
 * {@link createHttpsServer}, {@link createHttp2SecureServer} or {@link secureServer}, which
 * install the peer verification, the authorizer and SVID rotation. Used anywhere else they
 * throw (see {@link SpiffeServerOptions}).
 *
 * Client options are real `tls.connect` options and authenticate the server by themselves
 * (inside `checkServerIdentity`, and, for a resumed session, which Node does not show to
 * `checkServerIdentity`, in a check their `pskCallback` installs); the helpers ({@link dial},
 * {@link createSpiffeHttpsAgent}, {@link createSpiffeDispatcher}, {@link connectHttp2},
 * {@link grpcChannelCredentials}) are still the better road: they take any bundle source,
 * tolerate any SPIFFE-valid chain and never resume a session.
 *
 * Renegotiation is refused both ways: every context built here carries
 * `SSL_OP_NO_RENEGOTIATION`.
 *
 * @module
 */
import { constants } from 'node:crypto';
import { createSecureContext, DEFAULT_CIPHERS, type ConnectionOptions, type PeerCertificate, type SecureContext, type TLSSocket, type TlsOptions } from 'node:tls';
import type { Authorizer } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import type { X509SvidSource } from '../svid/x509/index.js';
import { caPems, ContextMemo, contextWithAnchors, MIN_TLS_VERSION, svidPem } from './credentials.js';
import { chainFromPeerCertificate, verifyPeerChain } from './peer.js';
import { toTlsPeerError } from './peer-error.js';
import { NO_RENEGOTIATION } from './renegotiation.js';
import { guardResumedSession } from './resumed-session.js';
import { assertAuthorizer, assertBundleSource, assertSvidSource, unionOfAuthorities } from './sources.js';

/**
 * The three ways to run TLS with SPIFFE, as in go-spiffe's `spiffetls`:
 * - `'tls'`: the server presents its X509-SVID; the client authenticates it and presents
 *   nothing.
 * - `'mtls'`: both present X509-SVIDs and authenticate each other.
 * - `'mtls-web'`: one side uses ordinary Web PKI: the server presents a normal certificate and
 *   authenticates client SVIDs; the client presents its SVID and checks the server the Web PKI
 *   way (CA store and hostname).
 *
 * @example
 * ```ts
 * import { listen, type SpiffeTlsMode } from '@spiffe-node/spiffe/tls';
 * const mode: SpiffeTlsMode = 'mtls';
 * listen({ port: 55555, mode, svidSource: source, bundleSource: source, authorizer });
 * ```
 */
export type SpiffeTlsMode = 'tls' | 'mtls' | 'mtls-web';

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

/**
 * `tls.connect` options that authenticate the server the SPIFFE way, from
 * {@link tlsClientOptions} and {@link mtlsClientOptions} (or the Web PKI way, from
 * {@link mtlsWebClientOptions}).
 *
 * `secureContext` is a getter: each `tls.connect` (or spread) reads the current SVID and
 * bundles, through a context cached until they change. `agent: false` keeps `https.request`
 * from pooling these sockets with requests that use other authorizers; for keep-alive use
 * {@link createSpiffeHttpsAgent}.
 *
 * Sessions: `session` is `undefined`, so an `https.Agent`'s cached session is not used (its
 * cache key ignores the authorizer); pass `session` after the spread to resume one. A resumed
 * session is verified in full all the same (chain against the bundle source as it is now, then
 * the authorizer) by a check that `pskCallback` installs on each socket (it offers no PSK), and
 * refused otherwise. Keep `pskCallback`, `checkServerIdentity`, `secureContext` and
 * `rejectUnauthorized` as they are.
 *
 * @example
 * ```ts
 * import tls from 'node:tls';
 * const socket = tls.connect({ host: '127.0.0.1', port: 55555, ...mtlsClientOptions(source, source, authorizer) });
 * ```
 */
export interface SpiffeClientOptions extends ConnectionOptions {
  readonly secureContext: SecureContext;
  readonly rejectUnauthorized: true;
  readonly agent: false;
  /** `undefined`: no session from an agent's cache; spread a `session` after these options to resume one. */
  readonly session: undefined;
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
  const config =
    options !== null && typeof options === 'object' ? (options as Partial<SpiffeServerOptions>)[SERVER_CONFIG] : undefined;
  if (config === undefined) {
    throw new TypeError(
      `${where}: expected options from tlsServerOptions(), mtlsServerOptions() or mtlsWebServerOptions()`,
    );
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

/**
 * @internal Makes `tls.connect` options whose `checkServerIdentity` authenticates the server's
 * SVID. OpenSSL's own chain check runs first, against every CA of every bundle of the source
 * (anchors need not be self-signed), so the source must be able to list its bundles.
 */
function spiffeClientOptions(
  svidSource: X509SvidSource | undefined,
  bundleSource: X509BundleSource,
  authorizer: Authorizer,
  where: string,
): SpiffeClientOptions {
  if (unionOfAuthorities(bundleSource) === undefined) {
    throw new TypeError(
      `${where}: the bundle source cannot list its bundles (it has no x509Bundles()), which plain tls.connect options need for OpenSSL's chain check; ` +
        'pass an X509Bundle, X509BundleSet, SpiffeBundleSet or X509Source, or use dial(), createSpiffeHttpsAgent() or createSpiffeDispatcher(), which take any source',
    );
  }
  const memo = new ContextMemo<unknown[], SecureContext>();
  const options = {
    rejectUnauthorized: true,
    minVersion: MIN_TLS_VERSION,
    agent: false,
    // An own `session: undefined` wins over a session an https.Agent puts in front of these
    // options (`{ session, ...options }`): no resumption unless the caller asks for it by
    // passing `session` after them. Resumed or not, the server is verified in full.
    session: undefined,
    checkServerIdentity(_hostname: string, cert: PeerCertificate): Error | undefined {
      try {
        verifyPeerChain(chainFromPeerCertificate(cert), bundleSource, authorizer, 'server');
        return undefined;
      } catch (err) {
        return toTlsPeerError(err);
      }
    },
    // Not a PSK: the one hook Node runs for every connection of plain options, where the check
    // of a resumed session is installed (see resumed-session.ts). Offers no PSK.
    pskCallback(this: TLSSocket): null {
      guardResumedSession(this, bundleSource, authorizer);
      return null;
    },
  };
  Object.defineProperty(options, 'secureContext', {
    enumerable: true,
    configurable: false,
    get(): SecureContext {
      const svid = svidSource?.getX509Svid();
      const authorities = unionOfAuthorities(bundleSource) ?? [];
      return memo.get([svid, ...authorities], () => {
        const pem = svid === undefined ? undefined : svidPem(svid);
        return contextWithAnchors({ ca: caPems(authorities), minVersion: MIN_TLS_VERSION, secureOptions: NO_RENEGOTIATION, ...(pem ?? {}) });
      });
    },
  });
  return options as unknown as SpiffeClientOptions;
}

/**
 * `tls.connect` options for a client that authenticates the server's X509-SVID and presents
 * no certificate (go-spiffe's `TLSClientConfig`). No system CAs, no hostname check: the
 * server's chain must verify against the bundle of the server's own trust domain, then the
 * authorizer decides.
 *
 * Works with `tls.connect`, `https.request` and `http2.connect`. Limits of plain options: the
 * source must list its bundles; OpenSSL checks the chain first, so its errors (`unable to get
 * local issuer certificate`, `certificate has expired`, `unsuitable certificate purpose` for a
 * server SVID whose extended key usage lacks `serverAuth`) come as Node's own errors; data
 * written before the handshake ends goes out only if the server passes. {@link dial} and the
 * other helpers have none of these limits.
 *
 * A session is resumed only when the caller passes one (`{ ...opts, session }`), and every
 * resumed connection is verified in full, as a full handshake is; the server's ID is then
 * available from {@link peerIdFromSocket}.
 *
 * @param bundleSource - Trust bundles (listable: X509Bundle, X509BundleSet, SpiffeBundleSet, X509Source).
 * @param authorizer - Required: which server IDs are acceptable.
 * @throws `TypeError` for a missing or unlistable source, or a missing authorizer.
 * @example
 * ```ts
 * import https from 'node:https';
 * const opts = tlsClientOptions(bundles, authorizeId('spiffe://example.org/server'));
 * https.get({ host: '127.0.0.1', port: 8443, path: '/', ...opts }, (res) => res.pipe(process.stdout));
 * ```
 */
export function tlsClientOptions(bundleSource: X509BundleSource, authorizer: Authorizer): SpiffeClientOptions {
  assertBundleSource(bundleSource, 'tlsClientOptions');
  assertAuthorizer(authorizer, 'tlsClientOptions');
  return spiffeClientOptions(undefined, bundleSource, authorizer, 'tlsClientOptions');
}

/**
 * `tls.connect` options for a client that presents its X509-SVID and authenticates the
 * server's (go-spiffe's `MTLSClientConfig`). Each connection presents the SVID current at
 * that moment. See {@link tlsClientOptions} for what plain options can and cannot do.
 *
 * @param svidSource - The client's current SVID.
 * @param bundleSource - Trust bundles (listable).
 * @param authorizer - Required: which server IDs are acceptable.
 * @throws `TypeError` for a missing source or authorizer.
 * @example
 * ```ts
 * import tls from 'node:tls';
 * const socket = tls.connect({
 *   host: '127.0.0.1',
 *   port: 55555,
 *   ...mtlsClientOptions(source, source, authorizeId('spiffe://example.org/server')),
 * });
 * ```
 */
export function mtlsClientOptions(
  svidSource: X509SvidSource,
  bundleSource: X509BundleSource,
  authorizer: Authorizer,
): SpiffeClientOptions {
  assertSvidSource(svidSource, 'mtlsClientOptions');
  assertBundleSource(bundleSource, 'mtlsClientOptions');
  assertAuthorizer(authorizer, 'mtlsClientOptions');
  return spiffeClientOptions(svidSource, bundleSource, authorizer, 'mtlsClientOptions');
}

/**
 * `tls.connect` options for a client that presents its X509-SVID and authenticates the server
 * the Web PKI way: the system CA store (or `ca`) and the host name (go-spiffe's
 * `MTLSWebClientConfig`).
 *
 * @param svidSource - The client's current SVID.
 * @param options - `ca`: CA certificates to trust instead of the system store.
 * @throws `TypeError` for a missing source.
 * @example
 * ```ts
 * import https from 'node:https';
 * const opts = mtlsWebClientOptions(source, { ca: readFileSync('web-ca.pem') });
 * https.get({ host: 'api.example.com', path: '/', ...opts }, onResponse);
 * ```
 */
export function mtlsWebClientOptions(
  svidSource: X509SvidSource,
  options: { ca?: string | Buffer | Array<string | Buffer> } = {},
): SpiffeClientOptions {
  assertSvidSource(svidSource, 'mtlsWebClientOptions');
  if (options === null || typeof options !== 'object') throw new TypeError('mtlsWebClientOptions: options must be an object');
  const ca = options.ca;
  const memo = new ContextMemo<unknown[], SecureContext>();
  // `session: undefined`: no session from an https.Agent's cache, whose key ignores `ca`.
  const result = { rejectUnauthorized: true, minVersion: MIN_TLS_VERSION, agent: false, session: undefined };
  Object.defineProperty(result, 'secureContext', {
    enumerable: true,
    configurable: false,
    get(): SecureContext {
      const svid = svidSource.getX509Svid();
      return memo.get([svid], () =>
        createSecureContext({ ...svidPem(svid), ...(ca === undefined ? {} : { ca }), minVersion: MIN_TLS_VERSION, secureOptions: NO_RENEGOTIATION }),
      );
    },
  });
  return result as unknown as SpiffeClientOptions;
}

/** TLS 1.3 cipher suites in the order a SPIFFE server prefers them. */
const TLS13_SUITES_PREFERRED = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/**
 * @internal Cipher options of a server whose `tlsOptions` choose none: the TLS 1.3 suites
 * with AES-128-GCM first and the server's order honoured, Node's TLS 1.2 list unchanged.
 * AES-128 matches the 128-bit strength of the P-256 keys SVIDs carry, is the suite Go's TLS
 * (and so go-spiffe) prefers on hardware with AES instructions, and its SHA-256 key schedule
 * costs less than SHA-384's; Node alone would pick AES-256-GCM-SHA384.
 */
export function serverCipherOptions(config: ServerConfig): Pick<TlsOptions, 'ciphers' | 'honorCipherOrder'> {
  if (config.tlsOptions.ciphers !== undefined) return {};
  const tls12 = DEFAULT_CIPHERS.split(':').filter((c) => c !== '' && !c.startsWith('TLS_'));
  return { ciphers: [...TLS13_SUITES_PREFERRED, ...tls12].join(':'), honorCipherOrder: config.tlsOptions.honorCipherOrder ?? true };
}

/**
 * @internal `secureOptions` for a server: renegotiation refused, and no session tickets unless
 * resumption is on.
 */
export function serverSecureOptions(config: ServerConfig): number {
  const base = (config.tlsOptions.secureOptions ?? 0) | NO_RENEGOTIATION;
  return config.resumption ? base : base | constants.SSL_OP_NO_TICKET;
}
