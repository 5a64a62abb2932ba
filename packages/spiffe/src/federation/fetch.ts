/**
 * fetchBundle: one fetch of a trust domain's bundle from its SPIFFE bundle endpoint.
 *
 * @module
 */
import https from 'node:https';
import type { X509Certificate } from 'node:crypto';
import { authorizeId } from '../authorize/index.js';
import { SpiffeBundle, type X509BundleSource } from '../bundle/index.js';
import { BundleError, FederationError } from '../errors.js';
import { SpiffeId, type TrustDomain } from '../spiffeid/index.js';
import { certInfo } from '../svid/x509/cert-info.js';
import { createSpiffeHttpsAgent } from '../tls/index.js';
import { describeUrl, resolveEndpoint, type BundleEndpoint, type ResolvedEndpoint } from './endpoint.js';
import { boundedGet } from './https-get.js';

/** Default time allowed for one fetch (connection, TLS, redirects and body), in ms. */
const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
/** Default largest body accepted, in bytes (1 MiB). */
const DEFAULT_MAX_BUNDLE_BYTES = 1024 * 1024;

/**
 * Options of {@link fetchBundle}.
 *
 * @example
 * ```ts
 * const options: FetchBundleOptions = { timeoutMs: 5000, maxBytes: 256 * 1024 };
 * ```
 */
export interface FetchBundleOptions {
  /** Time allowed for the whole fetch, in ms (default 10000). */
  timeoutMs?: number;
  /** Largest body accepted, in bytes (default 1 MiB). */
  maxBytes?: number;
  /** Aborts the fetch. */
  signal?: AbortSignal;
}

/** Checked fetch limits. */
export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
}

/** Checks the limits of {@link FetchBundleOptions} (misuse throws `TypeError`). */
export function fetchLimits(options: FetchBundleOptions, where: string): FetchLimits {
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: options must be an object`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(`${where}: timeoutMs must be a positive number of milliseconds`);
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new TypeError(`${where}: maxBytes must be a positive integer`);
  return { timeoutMs, maxBytes };
}

/**
 * Fetches the bundle of `endpoint.trustDomain` from its bundle endpoint, once.
 *
 * - `https_web`: TLS with the system's CAs (or `profile.ca` only) and a host name check on the
 *   URL's host.
 * - `https_spiffe`: the endpoint's X509-SVID must verify against the bundle of its own trust
 *   domain from `profile.bundleSource` and carry exactly `profile.endpointId`; no system CAs, no
 *   host name check. No request byte is sent to an endpoint that fails this.
 *
 * Only `https` URLs; a 200 answer is required. Redirects (at most 3) are followed only to the
 * same host and port, with the same checks on each connection; a redirect elsewhere is refused.
 * The body must be a SPIFFE bundle document (at most `maxBytes`), and any X.509 authority that
 * names a trust domain (a `spiffe://` URI SAN, as SPIRE's CAs do) must name `trustDomain`.
 *
 * @returns The bundle, for `endpoint.trustDomain`.
 * @throws {@link FederationError} with the code of the cause: `ERR_FEDERATION_FETCH`,
 *   `ERR_FEDERATION_ENDPOINT_REJECTED`, `ERR_FEDERATION_REDIRECT`, `ERR_FEDERATION_TIMEOUT`,
 *   `ERR_FEDERATION_TOO_LARGE`, `ERR_FEDERATION_BAD_BUNDLE`. `TypeError` for a bad configuration
 *   (a URL that is not https, a missing endpoint ID, ...).
 * @example
 * ```ts
 * import { fetchBundle } from '@spiffe-node/spiffe/federation';
 * const bundle = await fetchBundle({
 *   trustDomain: 'partner.org',
 *   url: 'https://partner.org:8443',
 *   profile: { type: 'https_spiffe', endpointId: 'spiffe://partner.org/spire/server', bundleSource: bootstrapBundle },
 * });
 * bundle.x509Authorities().length;
 * ```
 */
export async function fetchBundle(endpoint: BundleEndpoint, options: FetchBundleOptions = {}): Promise<SpiffeBundle> {
  const resolved = resolveEndpoint(endpoint, 'fetchBundle');
  const limits = fetchLimits(options, 'fetchBundle');
  const verifier = resolved.profile.type === 'https_spiffe' ? resolved.profile.bundleSource : undefined;
  return fetchResolved(resolved, verifier, limits, options.signal);
}

/**
 * @internal Fetches with a checked configuration; `https_spiffe` endpoints are verified against
 * `verifier` (the watcher passes one that follows the endpoint's own fetches).
 */
export async function fetchResolved(
  endpoint: ResolvedEndpoint,
  verifier: X509BundleSource | undefined,
  limits: FetchLimits,
  signal: AbortSignal | undefined,
): Promise<SpiffeBundle> {
  const { profile } = endpoint;
  let agent: () => https.Agent;
  let tls: https.RequestOptions;
  let authentication: string;
  if (profile.type === 'https_web') {
    agent = () => new https.Agent({ maxCachedSessions: 0 });
    tls = { rejectUnauthorized: true, ...(profile.ca ? { ca: profile.ca } : {}) };
    authentication = `Web PKI authentication (https_web, ${profile.ca ? 'the given CAs' : 'the system CAs'}, host "${endpoint.url.hostname}")`;
  } else {
    const authorizer = authorizeId(profile.endpointId);
    const bundleSource = verifier ?? profile.bundleSource;
    agent = () => createSpiffeHttpsAgent({ bundleSource, authorizer });
    tls = {};
    authentication = `SPIFFE authentication (https_spiffe, expected ID "${profile.endpointId}")`;
  }
  const body = await boundedGet({
    url: endpoint.url,
    trustDomain: endpoint.trustDomain.name,
    agent,
    tls,
    authentication,
    timeoutMs: limits.timeoutMs,
    maxBytes: limits.maxBytes,
    signal,
  });
  return parseDocument(endpoint, body);
}

function parseDocument(endpoint: ResolvedEndpoint, body: Buffer): SpiffeBundle {
  const fail = (message: string, cause?: unknown): FederationError =>
    new FederationError(
      'ERR_FEDERATION_BAD_BUNDLE',
      `federation: bundle of "${endpoint.trustDomain.name}" from ${describeUrl(endpoint.url)}: ${message}`,
      { trustDomain: endpoint.trustDomain.name, url: endpoint.url.href, cause },
    );
  let bundle: SpiffeBundle;
  try {
    bundle = SpiffeBundle.parse(endpoint.trustDomain, body);
  } catch (err) {
    if (err instanceof BundleError) throw fail(`not a SPIFFE bundle document: ${err.message}`, err);
    throw err;
  }
  for (const cert of bundle.x509Authorities()) {
    let named: TrustDomain[];
    try {
      named = trustDomainsNamedBy(cert);
    } catch (err) {
      throw fail(`an X.509 authority cannot be read: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    const foreign = named.find((td) => !td.equals(endpoint.trustDomain));
    if (foreign !== undefined) {
      throw fail(
        `an X.509 authority (subject "${cert.subject.replace(/\n/g, ', ')}") belongs to trust domain "${foreign.name}", ` +
          `not "${endpoint.trustDomain.name}"; the endpoint serves another trust domain's bundle, check the URL and trust domain configured`,
      );
    }
  }
  return bundle;
}

/**
 * The trust domains a CA certificate names through `spiffe://` URI SANs (SPIRE puts the trust
 * domain ID in its CAs). A URI SAN that is not a SPIFFE ID names nothing.
 */
function trustDomainsNamedBy(cert: X509Certificate): TrustDomain[] {
  // The library's own DER reader: it refuses a SAN that does not decode (Node 20 answers null
  // for one, Node 22+ throws), rather than read it in part.
  const out: TrustDomain[] = [];
  for (const uri of certInfo(cert).uris) {
    if (!uri.toLowerCase().startsWith('spiffe://')) continue;
    try {
      out.push(SpiffeId.fromString(uri).trustDomain);
    } catch {
      // Not a SPIFFE ID: it names no trust domain.
    }
  }
  return out;
}
