/**
 * Client option builders, after go-spiffe's `tlsconfig`: what a SPIFFE client presents and how
 * it authenticates the server.
 *
 * Client options are real `tls.connect` options and authenticate the server by themselves
 * (inside `checkServerIdentity`, and, for a resumed session, which Node does not show to
 * `checkServerIdentity`, in a check their `pskCallback` installs: see
 * `client-verification.ts`); the helpers ({@link dial}, {@link createSpiffeHttpsAgent},
 * {@link createSpiffeDispatcher}, {@link connectHttp2}, {@link grpcChannelCredentials}) are
 * still the better road: they take any bundle source, tolerate any SPIFFE-valid chain and never
 * resume a session.
 *
 * Renegotiation is refused: every context built here carries `SSL_OP_NO_RENEGOTIATION`.
 *
 * @module
 */
import { createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import type { Authorizer } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import type { X509SvidSource } from '../svid/x509/index.js';
import { serverVerificationHooks } from './client-verification.js';
import { caPems, ContextMemo, contextWithAnchors, MIN_TLS_VERSION, svidPem } from './credentials.js';
import { NO_RENEGOTIATION } from './renegotiation.js';
import { assertAuthorizer, assertBundleSource, assertSvidSource, unionOfAuthorities } from './sources.js';

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
    ...serverVerificationHooks(bundleSource, authorizer),
  };
  Object.defineProperty(options, 'secureContext', {
    enumerable: true,
    configurable: false,
    get(): SecureContext {
      const svid = svidSource?.getX509Svid();
      const authorities = unionOfAuthorities(bundleSource) ?? [];
      return memo.get([svid, ...authorities], () => {
        const pem = svid === undefined ? undefined : svidPem(svid);
        return contextWithAnchors({
          ca: caPems(authorities),
          minVersion: MIN_TLS_VERSION,
          secureOptions: NO_RENEGOTIATION,
          ...(pem ?? {}),
        });
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
export function mtlsClientOptions(svidSource: X509SvidSource, bundleSource: X509BundleSource, authorizer: Authorizer): SpiffeClientOptions {
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
        createSecureContext({
          ...svidPem(svid),
          ...(ca === undefined ? {} : { ca }),
          minVersion: MIN_TLS_VERSION,
          secureOptions: NO_RENEGOTIATION,
        }),
      );
    },
  });
  return result as unknown as SpiffeClientOptions;
}
