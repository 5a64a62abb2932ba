import type { X509Certificate } from 'node:crypto';
import { AuthorizationError } from '../errors.js';
import { SpiffeId, TrustDomain } from '../spiffeid/index.js';

/**
 * Decides whether an authenticated peer may talk to us. It is called after the peer's SVID
 * has been verified, with the peer's SPIFFE ID and the verified certificate chains, and throws
 * an {@link AuthorizationError} to refuse the peer.
 *
 * @example
 * ```ts
 * const onlyProd: Authorizer = (id) => {
 *   if (!id.path.startsWith('/prod/')) throw new AuthorizationError(id.toString());
 * };
 * ```
 */
export type Authorizer = (id: SpiffeId, verifiedChains: X509Certificate[][]) => void;

function toId(id: SpiffeId | string, where: string): SpiffeId {
  if (id instanceof SpiffeId) return id;
  if (typeof id === 'string') return SpiffeId.fromString(id);
  throw new TypeError(`${where}: expected a SpiffeId or a SPIFFE ID string`);
}

/**
 * Accepts any peer whose SVID verified, whatever its ID. Use only where every workload that
 * the trust bundles vouch for may connect.
 *
 * @example
 * ```ts
 * const authorize = authorizeAny();
 * authorize(SpiffeId.fromString('spiffe://example.org/anything'), []); // no throw
 * ```
 */
export function authorizeAny(): Authorizer {
  return () => {};
}

/**
 * Accepts exactly one SPIFFE ID.
 *
 * @throws `TypeError` if `expected` is neither a SpiffeId nor a string; a {@link SpiffeIdError}
 *   if the string is not a valid SPIFFE ID.
 * @example
 * ```ts
 * const authorize = authorizeId('spiffe://example.org/server');
 * authorize(SpiffeId.fromString('spiffe://example.org/client'), []);
 * // throws AuthorizationError: unexpected ID "spiffe://example.org/client"
 * ```
 */
export function authorizeId(expected: SpiffeId | string): Authorizer {
  const want = toId(expected, 'authorizeId').toString();
  return (id) => {
    const got = String(id);
    if (got !== want) throw new AuthorizationError(got);
  };
}

/**
 * Accepts any of the given SPIFFE IDs.
 *
 * @throws `TypeError` when no ID is given (that would refuse everyone; say so with
 *   `authorizeMatch(() => false)`) or an argument is not an ID.
 * @example
 * ```ts
 * const authorize = authorizeOneOf('spiffe://example.org/web', 'spiffe://example.org/batch');
 * ```
 */
export function authorizeOneOf(...expected: Array<SpiffeId | string>): Authorizer {
  if (expected.length === 0) {
    throw new TypeError('authorizeOneOf: pass at least one SPIFFE ID (to refuse every peer, use authorizeMatch(() => false))');
  }
  const allowed = new Set(expected.map((id) => toId(id, 'authorizeOneOf').toString()));
  return (id) => {
    const got = String(id);
    if (!allowed.has(got)) throw new AuthorizationError(got);
  };
}

/**
 * Accepts any SPIFFE ID of the trust domain.
 *
 * @example
 * ```ts
 * const authorize = authorizeMemberOf('example.org');
 * authorize(SpiffeId.fromString('spiffe://other.org/x'), []);
 * // throws AuthorizationError: unexpected trust domain "other.org" of ID "spiffe://other.org/x"; expected "example.org"
 * ```
 */
export function authorizeMemberOf(trustDomain: TrustDomain | string): Authorizer {
  let td: TrustDomain;
  if (trustDomain instanceof TrustDomain) td = trustDomain;
  else if (typeof trustDomain === 'string') td = TrustDomain.fromString(trustDomain);
  else throw new TypeError('authorizeMemberOf: expected a TrustDomain or a trust domain name');
  return (id) => {
    if (!(id instanceof SpiffeId) || !id.memberOf(td)) {
      const got = String(id);
      const peerTd = id instanceof SpiffeId ? id.trustDomain.name : '';
      throw new AuthorizationError(got, `unexpected trust domain "${peerTd}" of ID "${got}"; expected "${td.name}"`);
    }
  };
}

/**
 * Accepts the IDs for which `matches` returns true (exactly `true`: any other value refuses).
 * An exception thrown by `matches` propagates and so refuses the peer too.
 *
 * @example
 * ```ts
 * const authorize = authorizeMatch((id) => id.memberOf(td) && id.path.startsWith('/ns/prod/'));
 * ```
 */
export function authorizeMatch(matches: (id: SpiffeId) => boolean): Authorizer {
  if (typeof matches !== 'function') {
    throw new TypeError('authorizeMatch: expected a predicate function');
  }
  return (id) => {
    if (matches(id) !== true) throw new AuthorizationError(String(id));
  };
}
