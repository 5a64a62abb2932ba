/**
 * The parameters of a federation relationship (SPIFFE Federation §5.1): the trust domain whose
 * bundle is fetched, the bundle endpoint URL, and the endpoint profile with its own parameters.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto';
import type { X509BundleSource } from '../bundle/index.js';
import { SpiffeId, TrustDomain } from '../spiffeid/index.js';

/**
 * The `https_web` profile: the endpoint presents a Web PKI certificate, checked against trusted
 * CAs with a host name check on the URL's host (RFC 6125). Without `ca` the system's CAs (Node's
 * default trust store) are used; with `ca` only those certificates are trusted.
 *
 * @example
 * ```ts
 * const profile: HttpsWebProfile = { type: 'https_web' };                          // system CAs
 * const pinned: HttpsWebProfile = { type: 'https_web', ca: readFileSync('ca.pem') }; // only this CA
 * ```
 */
export interface HttpsWebProfile {
  readonly type: 'https_web';
  /** CA certificates to trust instead of the system's: PEM text or buffers, or certificates. */
  readonly ca?: string | Buffer | X509Certificate | ReadonlyArray<string | Buffer | X509Certificate>;
}

/**
 * The `https_spiffe` profile: the endpoint presents an X509-SVID, verified against the bundle of
 * the endpoint's own trust domain taken from `bundleSource`; its SPIFFE ID must then be exactly
 * `endpointId`. For a self-serving endpoint (`endpointId` in the trust domain being fetched),
 * `bundleSource` holds the bootstrap bundle; a {@link FederatedBundleSource} then verifies each
 * later fetch with the bundle the endpoint itself returned last.
 *
 * @example
 * ```ts
 * const profile: HttpsSpiffeProfile = {
 *   type: 'https_spiffe',
 *   endpointId: 'spiffe://partner.org/spire/server',
 *   bundleSource: SpiffeBundle.parse(TrustDomain.fromString('partner.org'), bootstrapJson),
 * };
 * ```
 */
export interface HttpsSpiffeProfile {
  readonly type: 'https_spiffe';
  /** The SPIFFE ID the endpoint's X509-SVID must carry. */
  readonly endpointId: SpiffeId | string;
  /** Bundles for the endpoint's trust domain (any X509BundleSource). */
  readonly bundleSource: X509BundleSource;
}

/**
 * How a bundle endpoint is authenticated: {@link HttpsWebProfile} or {@link HttpsSpiffeProfile}.
 *
 * @example
 * ```ts
 * const profile: BundleEndpointProfile = { type: 'https_web' };
 * ```
 */
export type BundleEndpointProfile = HttpsWebProfile | HttpsSpiffeProfile;

/**
 * A bundle endpoint: which trust domain's bundle it serves, where, and how it is authenticated.
 * All three come from configuration the operator trusts, never from the endpoint.
 *
 * @example
 * ```ts
 * const endpoint: BundleEndpoint = {
 *   trustDomain: 'partner.org',
 *   url: 'https://bundle.partner.org/bundle.json',
 *   profile: { type: 'https_web' },
 * };
 * ```
 */
export interface BundleEndpoint {
  /** The trust domain the fetched bundle belongs to. */
  readonly trustDomain: TrustDomain | string;
  /** The bundle endpoint URL: `https`, no userinfo. */
  readonly url: URL | string;
  /** How the endpoint is authenticated. */
  readonly profile: BundleEndpointProfile;
}

/** @internal A checked {@link BundleEndpoint}. */
export interface ResolvedEndpoint {
  trustDomain: TrustDomain;
  url: URL;
  profile: { type: 'https_web'; ca: string[] | undefined } | { type: 'https_spiffe'; endpointId: SpiffeId; bundleSource: X509BundleSource };
}

function caToPem(ca: NonNullable<HttpsWebProfile['ca']>, where: string): string[] {
  const items = Array.isArray(ca) ? ca : [ca];
  if (items.length === 0) throw new TypeError(`${where}: https_web "ca" is empty; omit it to use the system CAs`);
  return items.map((item: unknown) => {
    if (typeof item === 'string') return item;
    if (Buffer.isBuffer(item)) return item.toString('utf8');
    if (item instanceof X509Certificate) return item.toString();
    throw new TypeError(`${where}: https_web "ca" must be PEM text, a Buffer or an X509Certificate`);
  });
}

/**
 * @internal Checks an endpoint configuration (misuse throws `TypeError`) and normalises it.
 */
export function resolveEndpoint(endpoint: BundleEndpoint, where: string): ResolvedEndpoint {
  if (endpoint === null || typeof endpoint !== 'object') throw new TypeError(`${where}: expected a BundleEndpoint object`);
  let trustDomain: TrustDomain;
  if (endpoint.trustDomain instanceof TrustDomain) trustDomain = endpoint.trustDomain;
  else if (typeof endpoint.trustDomain === 'string') trustDomain = TrustDomain.fromString(endpoint.trustDomain);
  else throw new TypeError(`${where}: trustDomain must be a TrustDomain or a trust domain name`);

  let url: URL;
  try {
    url = new URL(String(endpoint.url));
  } catch {
    throw new TypeError(`${where}: url ${JSON.stringify(String(endpoint.url))} is not a URL`);
  }
  checkEndpointUrl(url, where);

  const profile = endpoint.profile;
  if (profile === null || typeof profile !== 'object') {
    throw new TypeError(`${where}: profile must be { type: 'https_web' } or { type: 'https_spiffe', endpointId, bundleSource }`);
  }
  if (profile.type === 'https_web') {
    return { trustDomain, url, profile: { type: 'https_web', ca: profile.ca === undefined ? undefined : caToPem(profile.ca, where) } };
  }
  if (profile.type === 'https_spiffe') {
    const endpointId =
      profile.endpointId instanceof SpiffeId
        ? profile.endpointId
        : typeof profile.endpointId === 'string'
          ? SpiffeId.fromString(profile.endpointId)
          : undefined;
    if (endpointId === undefined) throw new TypeError(`${where}: https_spiffe needs endpointId, the SPIFFE ID of the endpoint`);
    const source = profile.bundleSource as Partial<X509BundleSource> | null | undefined;
    if (source === null || typeof source !== 'object' || typeof source.getX509BundleForTrustDomain !== 'function') {
      throw new TypeError(
        `${where}: https_spiffe needs bundleSource, an X509BundleSource holding the bundle of "${endpointId.trustDomain.name}" (the endpoint's trust domain)`,
      );
    }
    return { trustDomain, url, profile: { type: 'https_spiffe', endpointId, bundleSource: profile.bundleSource } };
  }
  throw new TypeError(
    `${where}: unknown profile type ${JSON.stringify((profile as { type?: unknown }).type)}; use 'https_web' or 'https_spiffe'`,
  );
}

/**
 * @internal Throws `TypeError` unless `url` is a bundle endpoint URL (SPIFFE Federation
 * §5.2.1.1 and §5.2.2.1): scheme `https`, no userinfo.
 */
export function checkEndpointUrl(url: URL, where: string): void {
  if (url.protocol !== 'https:') {
    throw new TypeError(`${where}: bundle endpoint URL ${url.href} must use https (SPIFFE Federation §5.2)`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(`${where}: bundle endpoint URL must not carry userinfo (SPIFFE Federation §5.2)`);
  }
}

/** @internal A URL for messages: without userinfo, which endpoint URLs never carry anyway. */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}${url.search}`;
}
