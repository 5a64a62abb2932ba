/**
 * Per-API authentication: the mTLS and JWT entries of an API applied to what a request
 * presented, with the `mandatory` / `optional` semantics of WSO2 APK's guide.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto';
import {
  parseAndValidateJwtSvid,
  parseAndVerifyX509Svid,
  type JwtBundleSource,
  type JwtSvid,
  type SpiffeId,
  type X509BundleSource,
} from '@spiffe-node/spiffe';
import type { MtlsAuthentication } from './api-definition.js';
import type { PinnedCertificates } from './certificates.js';
import type { LoadedApi } from './gateway-config.js';

/**
 * Why a request was refused, as named in the 401 body:
 * - `mtls_required`: mandatory mTLS and no client certificate;
 * - `certificate_not_accepted`: a client certificate was presented and is not accepted;
 * - `jwt_required`: mandatory JWT and no bearer token;
 * - `jwt_invalid`: a bearer token was presented and is not a valid JWT-SVID for the audience;
 * - `authentication_required`: every entry is optional and nothing was presented.
 *
 * @example
 * ```ts
 * const rule: RejectionRule = 'mtls_required';
 * ```
 */
export type RejectionRule = 'mtls_required' | 'certificate_not_accepted' | 'jwt_required' | 'jwt_invalid' | 'authentication_required';

/**
 * A client certificate as the gateway received it: from its own TLS handshake, or from a header
 * of a trusted proxy (`error` when that header could not be decoded).
 *
 * @example
 * ```ts
 * const presented: PresentedCertificate = { via: 'tls', chain: peerChainFromSocket(socket)! };
 * ```
 */
export type PresentedCertificate =
  { via: 'tls' | 'header'; chain: Uint8Array[]; error?: undefined } | { via: 'header'; chain?: undefined; error: string };

/**
 * What a request presented.
 *
 * @example
 * ```ts
 * const credentials: Credentials = { certificate: undefined, bearer: 'eyJ...' };
 * ```
 */
export interface Credentials {
  certificate: PresentedCertificate | undefined;
  bearer: string | undefined;
}

/**
 * A client certificate the mTLS entry accepted.
 *
 * @example
 * ```ts
 * if (accepted.spiffeId) console.log(`client ${accepted.spiffeId}`);
 * ```
 */
export interface AcceptedCertificate {
  /** The leaf, DER. */
  der: Uint8Array;
  leaf: X509Certificate;
  via: 'tls' | 'header';
  /** Set when accepted as an X509-SVID (chain verified against the bundle of its trust domain). */
  spiffeId: SpiffeId | undefined;
  how: 'pinned' | 'issued' | 'spiffe';
}

/**
 * The verdict on one request.
 *
 * @example
 * ```ts
 * const decision = await authenticate(api, credentials, sources);
 * if (!decision.ok) res.writeHead(401).end(JSON.stringify({ rule: decision.rule }));
 * ```
 */
export type Decision =
  { ok: true; certificate: AcceptedCertificate | undefined; jwt: JwtSvid | undefined } | { ok: false; rule: RejectionRule; reason: string };

/**
 * The trust material authentication reads: X.509 bundles for client SVIDs, JWT bundles for
 * JWT-SVIDs (both from the Workload API).
 *
 * @example
 * ```ts
 * const sources: TrustSources = { x509Bundles: x509Source, jwtBundles: jwtSource };
 * ```
 */
export interface TrustSources {
  x509Bundles: X509BundleSource;
  jwtBundles: JwtBundleSource;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Checks a client certificate against an mTLS entry: pinned certificates first, then SPIFFE
 * (the chain verified against the bundle of the leaf's own trust domain, then `spiffeIds` /
 * `trustDomains`). Returns the reason for a refusal, never the certificate.
 *
 * @example
 * ```ts
 * const verdict = checkClientCertificate(chain, 'tls', api.definition.mtls!, api.pinned, x509Source);
 * ```
 */
export function checkClientCertificate(
  chain: Uint8Array[],
  via: 'tls' | 'header',
  mtls: MtlsAuthentication,
  pinned: PinnedCertificates,
  bundles: X509BundleSource,
): { ok: true; certificate: AcceptedCertificate } | { ok: false; reason: string } {
  const der = chain[0];
  if (der === undefined) return { ok: false, reason: 'no certificate' };
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(der);
  } catch (err) {
    return { ok: false, reason: `the certificate cannot be parsed: ${message(err)}` };
  }
  const reasons: string[] = [];
  if (pinned.size > 0) {
    const verdict = pinned.check(leaf);
    if (verdict.ok) return { ok: true, certificate: { der, leaf, via, spiffeId: undefined, how: verdict.how } };
    reasons.push(verdict.reason);
  }
  if (mtls.spiffeIds.length > 0 || mtls.trustDomains.length > 0) {
    try {
      const { id } = parseAndVerifyX509Svid(chain, bundles);
      const allowed = mtls.spiffeIds.some((s) => s.equals(id)) || mtls.trustDomains.some((td) => id.memberOf(td));
      if (allowed) return { ok: true, certificate: { der, leaf, via, spiffeId: id, how: 'spiffe' } };
      reasons.push(`unexpected ID "${id.toString()}"`);
    } catch (err) {
      reasons.push(message(err));
    }
  }
  return { ok: false, reason: reasons.join('; ') };
}

/**
 * Applies an API's authentication entries to a request:
 * - a credential that is presented must be valid, whether its entry is mandatory or optional
 *   (`certificate_not_accepted`, `jwt_invalid`);
 * - a mandatory entry must be satisfied (`mtls_required`, `jwt_required`);
 * - at least one entry must be satisfied (`authentication_required` when all are optional and
 *   nothing was presented).
 *
 * So `mandatory` mTLS rejects a request without a valid certificate, and `optional` mTLS lets a
 * request without one fall through to JWT while still rejecting an invalid one.
 *
 * @param api - The API, with its pinned certificates.
 * @param credentials - What the request presented.
 * @param sources - Bundles for X509-SVIDs and JWT-SVIDs.
 * @example
 * ```ts
 * const decision = await authenticate(api, { certificate, bearer }, { x509Bundles: x509Source, jwtBundles: jwtSource });
 * ```
 */
export async function authenticate(api: LoadedApi, credentials: Credentials, sources: TrustSources): Promise<Decision> {
  const { mtls, jwt } = api.definition;
  let certificate: AcceptedCertificate | undefined;
  let token: JwtSvid | undefined;

  if (mtls !== undefined) {
    const presented = credentials.certificate;
    if (presented === undefined) {
      if (mtls.required === 'mandatory') return { ok: false, rule: 'mtls_required', reason: 'no client certificate' };
    } else if (presented.error !== undefined) {
      return { ok: false, rule: 'certificate_not_accepted', reason: presented.error };
    } else {
      const verdict = checkClientCertificate(presented.chain, presented.via, mtls, api.pinned, sources.x509Bundles);
      if (!verdict.ok) return { ok: false, rule: 'certificate_not_accepted', reason: verdict.reason };
      certificate = verdict.certificate;
    }
  }

  if (jwt !== undefined) {
    const bearer = credentials.bearer;
    if (bearer === undefined) {
      if (jwt.required === 'mandatory') return { ok: false, rule: 'jwt_required', reason: 'no bearer token' };
    } else {
      try {
        token = await parseAndValidateJwtSvid(bearer, sources.jwtBundles, jwt.audience);
      } catch (err) {
        return { ok: false, rule: 'jwt_invalid', reason: message(err) };
      }
    }
  }

  if (certificate === undefined && token === undefined) {
    return { ok: false, rule: 'authentication_required', reason: 'no credential was presented and every entry is optional' };
  }
  return { ok: true, certificate, jwt: token };
}
