/**
 * bundleEndpointHandler: serves a trust domain's bundle as a SPIFFE bundle endpoint.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import { SpiffeBundle, type JwtBundleSource, type X509BundleSource } from '../bundle/index.js';
import { BundleError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { defaultWorkloadApiLogger, safeLog, type WorkloadApiLogger } from '../workloadapi/logger.js';

/** The refresh hint served when none is configured, in seconds (five minutes). */
const DEFAULT_SERVED_REFRESH_HINT_SECONDS = 300;

/**
 * Options of {@link bundleEndpointHandler}.
 *
 * @example
 * ```ts
 * const options: BundleEndpointHandlerOptions = { refreshHintSeconds: 60, path: '/bundle.json' };
 * ```
 */
export interface BundleEndpointHandlerOptions {
  /** The `spiffe_refresh_hint` served, in seconds (default 300). */
  refreshHintSeconds?: number;
  /**
   * Serve only this path (others get 404, or `next()` under express). Default: every path the
   * handler is given.
   */
  path?: string;
  /** Where to report a failure to build the document (default: stderr). */
  logger?: WorkloadApiLogger;
}

/**
 * A request handler for `node:http`/`node:https` servers and express (it calls `next()`, when
 * given, for a path it does not serve).
 *
 * @example
 * ```ts
 * const handler: BundleEndpointHandler = bundleEndpointHandler(bundles, 'example.org');
 * https.createServer(webPkiOptions, handler);
 * ```
 */
export type BundleEndpointHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

type ServedSource = X509BundleSource & Partial<JwtBundleSource>;

/**
 * A handler that serves the bundle of `trustDomain`, read from `source` on each request, as a
 * SPIFFE bundle document (SPIFFE Federation §5.2): `x509-svid` keys with their certificate in
 * `x5c`, `jwt-svid` keys with their `kid` (when the source is also a {@link JwtBundleSource}),
 * `spiffe_refresh_hint`, and `spiffe_sequence`. The sequence number is the source's own when the
 * source is a {@link SpiffeBundle} that has one; otherwise the handler numbers the contents it
 * serves, starting from the Unix time (seconds) it was made and adding one on each change, so a
 * restarted server does not go back.
 *
 * Answers `GET` and `HEAD` with `200` and `Content-Type: application/json`, other methods with
 * `405`, and `503` while the source holds no X.509 bundle for the trust domain. No client
 * authentication is asked for (the spec forbids it): serve it with
 * `https.createServer(webPkiOptions, handler)` for `https_web`, or with
 * `createHttpsServer(tlsServerOptions(svidSource), handler)` from `@spiffe-node/spiffe/tls` for
 * `https_spiffe` (the server presents its X509-SVID; consumers configure its SPIFFE ID).
 *
 * @param source - Where the bundle comes from: a Workload API `BundleSource` or `X509Source`, a
 *   `SpiffeBundle`, a bundle set, a file source...
 * @param trustDomain - The trust domain whose bundle is served.
 * @throws `TypeError` for a source that is not a bundle source, or bad options.
 * @example
 * ```ts
 * import { X509Source, BundleSource } from '@spiffe-node/spiffe/workloadapi';
 * import { createHttpsServer, tlsServerOptions } from '@spiffe-node/spiffe/tls';
 * import { bundleEndpointHandler } from '@spiffe-node/spiffe/federation';
 * const svids = await X509Source.create();     // the server's SVID, e.g. spiffe://example.org/bundle-server
 * const bundles = await BundleSource.create(); // X.509 and JWT bundles
 * createHttpsServer(tlsServerOptions(svids), bundleEndpointHandler(bundles, 'example.org')).listen(8443);
 * // express: app.get('/bundle.json', bundleEndpointHandler(bundles, 'example.org'));
 * ```
 */
export function bundleEndpointHandler(
  source: X509BundleSource & Partial<JwtBundleSource>,
  trustDomain: TrustDomain | string,
  options: BundleEndpointHandlerOptions = {},
): BundleEndpointHandler {
  if (source === null || typeof source !== 'object' || typeof source.getX509BundleForTrustDomain !== 'function') {
    throw new TypeError('bundleEndpointHandler: source must be a bundle source (an object with getX509BundleForTrustDomain())');
  }
  const td = trustDomain instanceof TrustDomain ? trustDomain : TrustDomain.fromString(trustDomain);
  if (options === null || typeof options !== 'object') throw new TypeError('bundleEndpointHandler: options must be an object');
  const hint = options.refreshHintSeconds ?? DEFAULT_SERVED_REFRESH_HINT_SECONDS;
  if (!Number.isSafeInteger(hint) || hint <= 0) throw new TypeError('bundleEndpointHandler: refreshHintSeconds must be a positive integer');
  if (options.path !== undefined && (typeof options.path !== 'string' || !options.path.startsWith('/'))) {
    throw new TypeError('bundleEndpointHandler: path must start with "/"');
  }
  const logger = options.logger ?? defaultWorkloadApiLogger;
  const numbering = { contents: '', sequence: Math.floor(Date.now() / 1000) };

  const documentNow = (): string | undefined => {
    let bundle: SpiffeBundle;
    try {
      bundle = currentBundle(source, td);
    } catch (err) {
      if (err instanceof BundleError && err.code === 'ERR_BUNDLE_NOT_FOUND') return undefined;
      throw err;
    }
    const own = source instanceof SpiffeBundle ? source.sequenceNumber : undefined;
    if (own === undefined) {
      const contents = bundle.marshal();
      if (contents !== numbering.contents) {
        if (numbering.contents !== '') numbering.sequence++;
        numbering.contents = contents;
      }
    }
    bundle.sequenceNumber = own ?? numbering.sequence;
    bundle.refreshHint = hint;
    return bundle.marshal();
  };

  return (req, res, next) => {
    const path = (req.url ?? '/').split('?')[0];
    if (options.path !== undefined && path !== options.path) {
      if (next) return next();
      return plain(res, 404, 'not found\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return plain(res, 405, 'method not allowed: a bundle endpoint answers GET\n');
    }
    let body: string | undefined;
    try {
      body = documentNow();
    } catch (err) {
      safeLog(
        logger,
        'error',
        `federation: bundle endpoint of "${td.name}": cannot build the bundle document: ${(err as Error)?.message ?? err}`,
      );
      return plain(res, 500, 'internal error\n');
    }
    if (body === undefined) {
      res.setHeader('retry-after', '5');
      return plain(res, 503, `no bundle of "${td.name}" available yet\n`);
    }
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

/** The bundle of `td` the source holds now, as a new SpiffeBundle (JWT half when it has one). */
function currentBundle(source: ServedSource, td: TrustDomain): SpiffeBundle {
  const x509 = source.getX509BundleForTrustDomain(td);
  let jwtAuthorities: Map<string, KeyObject> | undefined;
  if (typeof source.getJwtBundleForTrustDomain === 'function') {
    try {
      jwtAuthorities = source.getJwtBundleForTrustDomain(td).jwtAuthorities();
    } catch (err) {
      // A source without JWT keys for the trust domain serves its X.509 authorities alone.
      if (!(err instanceof BundleError && err.code === 'ERR_BUNDLE_NOT_FOUND')) throw err;
    }
  }
  return new SpiffeBundle(td, { x509Authorities: x509.authorities(), ...(jwtAuthorities ? { jwtAuthorities } : {}) });
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(text);
}
