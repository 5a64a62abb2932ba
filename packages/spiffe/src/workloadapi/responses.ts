/**
 * Validation of Workload API responses: each SVID and bundle is checked before use, anything
 * invalid is discarded with one logged reason, and a response with nothing usable is refused.
 *
 * @module
 * Not part of the public API: no entry point exports this module.
 */
import { WorkloadApiError } from '../errors.js';
import { SpiffeId, TrustDomain } from '../spiffeid/index.js';
import { X509Bundle } from '../bundle/x509-bundle.js';
import { X509BundleSet } from '../bundle/x509-bundle-set.js';
import { JwtBundle } from '../bundle/jwt-bundle.js';
import { JwtBundleSet } from '../bundle/jwt-bundle-set.js';
import { X509Svid, parseAndVerifyX509Svid } from '../svid/x509/index.js';
import { parseInsecureJwtSvid } from '../svid/jwt/index.js';
import type { JwtSvid } from '../svid/jwt/index.js';
import { safeLog, type WorkloadApiLogger } from './logger.js';
import type { JwtBundlesResponseMessage, JwtSvidResponseMessage, X509BundlesResponseMessage, X509SvidResponseMessage } from './messages.js';

/**
 * The X.509 material of a workload: its X509-SVIDs (the first is the default identity) and the
 * X.509 bundles of its own and federated trust domains.
 *
 * @example
 * ```ts
 * const ctx = await client.fetchX509Context();
 * ctx.svids[0].id.toString();                                        // the default identity
 * ctx.bundles.has(TrustDomain.fromString('partner.org'));            // federated?
 * ```
 */
export interface X509Context {
  /** The usable X509-SVIDs, in the agent's order; the first is the default. */
  readonly svids: readonly X509Svid[];
  /** The bundles of the SVIDs' trust domains and of every federated trust domain. */
  readonly bundles: X509BundleSet;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isEmpty(bytes: Uint8Array | undefined | null): boolean {
  return bytes === undefined || bytes === null || bytes.length === 0;
}

function invalidResponse(method: string, text: string): WorkloadApiError {
  return new WorkloadApiError('ERR_WORKLOADAPI_RESPONSE', `workloadapi: ${method} response ${text}`);
}

/**
 * Reads a bundle map key: a trust domain ID (`spiffe://td`) or, leniently, a bare name.
 *
 * @example
 * ```ts
 * trustDomainFromKey('spiffe://example.org').name; // 'example.org'
 * ```
 * @internal
 */
function trustDomainFromKey(key: string): TrustDomain {
  if (key.includes(':/')) {
    const id = SpiffeId.fromString(key);
    if (id.path !== '') {
      throw new TypeError(`"${key}" is a workload ID, not a trust domain ID`);
    }
    return id.trustDomain;
  }
  return TrustDomain.fromString(key);
}

function noBundles(method: string, map: Record<string, Uint8Array> | undefined, logger: WorkloadApiLogger): WorkloadApiError {
  if (Object.keys(map ?? {}).length === 0) {
    safeLog(logger, 'warn', `workloadapi: ${method}: ignored a response that holds no bundle`);
    return invalidResponse(method, 'ignored: it holds no bundle');
  }
  return invalidResponse(method, 'ignored: every bundle was invalid');
}

function parseBundleMap<B>(
  method: string,
  map: Record<string, Uint8Array> | undefined,
  kind: string,
  parse: (td: TrustDomain, value: Uint8Array) => B,
  logger: WorkloadApiLogger,
  skip?: (td: TrustDomain) => boolean,
): B[] {
  const out: B[] = [];
  const seen = new Set<string>();
  for (const [key, value] of Object.entries(map ?? {})) {
    let td: TrustDomain;
    try {
      td = trustDomainFromKey(key);
    } catch (err) {
      safeLog(
        logger,
        'warn',
        `workloadapi: ${method}: discarded the ${kind} bundle keyed ${JSON.stringify(key)}: not a trust domain ID (${message(err)})`,
      );
      continue;
    }
    if (skip?.(td)) continue;
    if (seen.has(td.name)) {
      safeLog(logger, 'warn', `workloadapi: ${method}: discarded a second ${kind} bundle for trust domain "${td.name}"`);
      continue;
    }
    if (isEmpty(value)) {
      safeLog(logger, 'warn', `workloadapi: ${method}: discarded the ${kind} bundle of "${td.name}": it is empty`);
      continue;
    }
    try {
      out.push(parse(td, value));
      seen.add(td.name);
    } catch (err) {
      safeLog(logger, 'warn', `workloadapi: ${method}: discarded the ${kind} bundle of "${td.name}": ${message(err)}`);
    }
  }
  return out;
}

/**
 * Validates an `X509SVIDResponse`. Each SVID must have every mandatory field, a `spiffe_id`
 * equal to its certificate's URI SAN, a valid X509-SVID chain whose key matches the leaf, an
 * unexpired leaf, a parseable bundle, and a chain that verifies against that bundle; otherwise it is discarded with one logged reason.
 *
 * @throws {@link WorkloadApiError} `ERR_WORKLOADAPI_RESPONSE` when no SVID is usable.
 * @example
 * ```ts
 * const ctx = parseX509SvidResponse(message, logger);
 * ```
 * @internal
 */
export function parseX509SvidResponse(response: X509SvidResponseMessage, logger: WorkloadApiLogger, now: Date = new Date()): X509Context {
  const method = 'FetchX509SVID';
  const svids: X509Svid[] = [];
  const ownBundles = new Map<string, X509Bundle>();
  const reasons: string[] = [];
  (response.svids ?? []).forEach((m, index) => {
    const label = `SVID #${index}${m.spiffe_id ? ` (${m.spiffe_id})` : ''}`;
    const discard = (reason: string): void => {
      reasons.push(reason);
      safeLog(logger, 'warn', `workloadapi: ${method}: discarded ${label}: ${reason}`);
    };
    if (!m.spiffe_id) return discard('the spiffe_id field is empty');
    if (isEmpty(m.x509_svid)) return discard('the x509_svid field is empty');
    if (isEmpty(m.x509_svid_key)) return discard('the x509_svid_key field is empty');
    if (isEmpty(m.bundle)) return discard('the bundle field is empty');
    let claimed: SpiffeId;
    try {
      claimed = SpiffeId.fromString(m.spiffe_id);
    } catch (err) {
      return discard(`spiffe_id is not a SPIFFE ID: ${message(err)}`);
    }
    let svid: X509Svid;
    try {
      svid = X509Svid.parseRaw(new Uint8Array(m.x509_svid), new Uint8Array(m.x509_svid_key), m.hint ?? '');
    } catch (err) {
      return discard(message(err));
    }
    if (!svid.id.equals(claimed)) {
      return discard(`spiffe_id ${claimed} differs from the certificate's URI SAN ${svid.id}`);
    }
    if (svid.expiresAt.getTime() <= now.getTime()) {
      return discard(`the certificate expired at ${svid.expiresAt.toISOString()}`);
    }
    const td = svid.id.trustDomain;
    let bundle = ownBundles.get(td.name);
    if (!bundle) {
      try {
        bundle = X509Bundle.parseRaw(td, new Uint8Array(m.bundle));
      } catch (err) {
        return discard(`its bundle is invalid: ${message(err)}`);
      }
    }
    // The SVID must chain to its own trust domain's bundle in this very response: an agent bug or
    // a corrupted message must never make us present an identity that peers cannot verify.
    try {
      parseAndVerifyX509Svid(svid.rawCertificates(), bundle, { time: now });
    } catch (err) {
      return discard(`it does not verify against the bundle of "${td.name}" in the same response: ${message(err)}`);
    }
    ownBundles.set(td.name, bundle);
    svids.push(svid);
  });
  if (svids.length === 0) {
    if (reasons.length === 0) safeLog(logger, 'warn', `workloadapi: ${method}: ignored a response that holds no SVID`);
    const why = reasons.length === 0 ? 'it holds no SVID' : `every SVID was invalid (${reasons.join('; ')})`;
    throw invalidResponse(method, `ignored: ${why}`);
  }
  const federated = parseBundleMap(
    method,
    response.federated_bundles,
    'federated X.509',
    (td, value) => X509Bundle.parseRaw(td, new Uint8Array(value)),
    logger,
    (td) => {
      if (!ownBundles.has(td.name)) return false;
      safeLog(logger, 'warn', `workloadapi: ${method}: ignored the federated bundle of "${td.name}": it is the SVID's own trust domain`);
      return true;
    },
  );
  return { svids, bundles: new X509BundleSet(...ownBundles.values(), ...federated) };
}

/**
 * Validates an `X509BundlesResponse`; invalid bundles are discarded with a logged reason.
 *
 * @throws {@link WorkloadApiError} `ERR_WORKLOADAPI_RESPONSE` when no bundle is usable.
 * @example
 * ```ts
 * const set = parseX509BundlesResponse(message, logger);
 * ```
 * @internal
 */
export function parseX509BundlesResponse(response: X509BundlesResponseMessage, logger: WorkloadApiLogger): X509BundleSet {
  const method = 'FetchX509Bundles';
  const bundles = parseBundleMap(method, response.bundles, 'X.509', (td, v) => X509Bundle.parseRaw(td, new Uint8Array(v)), logger);
  if (bundles.length === 0) throw noBundles(method, response.bundles, logger);
  return new X509BundleSet(...bundles);
}

/**
 * Validates a `JWTBundlesResponse`; invalid bundles are discarded with a logged reason.
 *
 * @throws {@link WorkloadApiError} `ERR_WORKLOADAPI_RESPONSE` when no bundle is usable.
 * @example
 * ```ts
 * const set = parseJwtBundlesResponse(message, logger);
 * ```
 * @internal
 */
export function parseJwtBundlesResponse(response: JwtBundlesResponseMessage, logger: WorkloadApiLogger): JwtBundleSet {
  const method = 'FetchJWTBundles';
  const bundles = parseBundleMap(method, response.bundles, 'JWT', (td, v) => JwtBundle.parse(td, new Uint8Array(v)), logger);
  if (bundles.length === 0) throw noBundles(method, response.bundles, logger);
  return new JwtBundleSet(...bundles);
}

/**
 * Validates a `JWTSVIDResponse`: each token must parse as a JWT-SVID for `audience`, be
 * unexpired, and name the same SPIFFE ID as its `spiffe_id` field (and `subject`, when one was
 * asked for); invalid ones are discarded with a logged reason.
 *
 * @throws {@link WorkloadApiError} `ERR_WORKLOADAPI_RESPONSE` when no token is usable.
 * @example
 * ```ts
 * const svids = parseJwtSvidResponse(message, ['spiffe://example.org/db'], undefined, logger);
 * ```
 * @internal
 */
export function parseJwtSvidResponse(
  response: JwtSvidResponseMessage,
  audience: string[],
  subject: SpiffeId | undefined,
  logger: WorkloadApiLogger,
): JwtSvid[] {
  const method = 'FetchJWTSVID';
  const out: JwtSvid[] = [];
  const reasons: string[] = [];
  (response.svids ?? []).forEach((m, index) => {
    const label = `JWT-SVID #${index}${m.spiffe_id ? ` (${m.spiffe_id})` : ''}`;
    const discard = (reason: string): void => {
      reasons.push(reason);
      safeLog(logger, 'warn', `workloadapi: ${method}: discarded ${label}: ${reason}`);
    };
    if (!m.spiffe_id) return discard('the spiffe_id field is empty');
    if (!m.svid) return discard('the svid field is empty');
    let claimed: SpiffeId;
    try {
      claimed = SpiffeId.fromString(m.spiffe_id);
    } catch (err) {
      return discard(`spiffe_id is not a SPIFFE ID: ${message(err)}`);
    }
    let svid: JwtSvid;
    try {
      svid = parseInsecureJwtSvid(m.svid, audience, { hint: m.hint ?? '' });
    } catch (err) {
      return discard(message(err));
    }
    if (!svid.id.equals(claimed)) return discard(`spiffe_id ${claimed} differs from the token's sub ${svid.id}`);
    if (subject && !svid.id.equals(subject)) return discard(`asked for ${subject}, got ${svid.id}`);
    out.push(svid);
  });
  if (out.length === 0) {
    if (reasons.length === 0) safeLog(logger, 'warn', `workloadapi: ${method}: refused a response that holds no JWT-SVID`);
    const why = reasons.length === 0 ? 'it holds no JWT-SVID' : `every JWT-SVID was invalid (${reasons.join('; ')})`;
    throw invalidResponse(method, `refused: ${why}`);
  }
  return out;
}
