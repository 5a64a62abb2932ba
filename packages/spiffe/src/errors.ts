/**
 * Errors raised by the library.
 *
 * Every error that comes from bad input (an invalid SPIFFE ID, a certificate that is not an
 * X509-SVID, a token that fails validation, an unreachable Workload API, ...) is a
 * {@link SpiffeError} with a stable {@link SpiffeError.code}. Programs branch on `code`, never on
 * the message. Misuse of the API itself (a wrong argument type, an empty audience list) throws a
 * plain `TypeError`.
 *
 * Messages start with the area they come from (`spiffeid: `, `x509svid: `, `jwtsvid: `, ...), say
 * what was wrong and, where it helps, what to do about it.
 *
 * @module
 */

/**
 * The stable error codes. New codes may be added; existing ones never change meaning.
 */
export type SpiffeErrorCode =
  // SPIFFE IDs and trust domains
  | 'ERR_SPIFFEID_INVALID'
  | 'ERR_TRUST_DOMAIN_INVALID'
  // Bundles
  | 'ERR_BUNDLE_INVALID'
  | 'ERR_BUNDLE_NOT_FOUND'
  | 'ERR_AUTHORITY_NOT_FOUND'
  // X509-SVIDs
  | 'ERR_X509SVID_INVALID'
  | 'ERR_X509SVID_KEY_MISMATCH'
  | 'ERR_X509SVID_UNTRUSTED'
  | 'ERR_X509SVID_EXPIRED'
  | 'ERR_X509SVID_NOT_YET_VALID'
  // JWT-SVIDs
  | 'ERR_JWTSVID_MALFORMED'
  | 'ERR_JWTSVID_UNSUPPORTED_ALG'
  | 'ERR_JWTSVID_INVALID_HEADER'
  | 'ERR_JWTSVID_INVALID_CLAIMS'
  | 'ERR_JWTSVID_SIGNATURE'
  | 'ERR_JWTSVID_AUDIENCE'
  | 'ERR_JWTSVID_EXPIRED'
  | 'ERR_JWTSVID_NOT_YET_VALID'
  | 'ERR_JWTSVID_KEY_NOT_FOUND'
  // Authorization of a peer
  | 'ERR_UNAUTHORIZED_ID'
  // Workload API
  | 'ERR_WORKLOADAPI_ADDRESS'
  | 'ERR_WORKLOADAPI_UNAVAILABLE'
  | 'ERR_WORKLOADAPI_PERMISSION_DENIED'
  | 'ERR_WORKLOADAPI_INVALID_ARGUMENT'
  | 'ERR_WORKLOADAPI_RESPONSE'
  | 'ERR_WORKLOADAPI_RPC'
  | 'ERR_WORKLOADAPI_TIMEOUT'
  | 'ERR_SOURCE_CLOSED'
  | 'ERR_SVID_NOT_FOUND'
  // TLS
  | 'ERR_TLS_PEER_REJECTED'
  | 'ERR_TLS_NO_PEER_CERTIFICATE'
  | 'ERR_TLS_RENEGOTIATION_REFUSED'
  // Files
  | 'ERR_FILE_SOURCE'
  // Federation (bundle endpoints)
  | 'ERR_FEDERATION_FETCH'
  | 'ERR_FEDERATION_ENDPOINT_REJECTED'
  | 'ERR_FEDERATION_REDIRECT'
  | 'ERR_FEDERATION_TIMEOUT'
  | 'ERR_FEDERATION_TOO_LARGE'
  | 'ERR_FEDERATION_BAD_BUNDLE';

/**
 * The base class of every error that bad input (rather than misuse) can raise.
 *
 * @example
 * ```ts
 * import { SpiffeId, SpiffeError } from '@spiffe-node/spiffe';
 * try {
 *   SpiffeId.fromString('spiffe://example.org/a//b');
 * } catch (err) {
 *   if (err instanceof SpiffeError && err.code === 'ERR_SPIFFEID_INVALID') console.error(err.message);
 * }
 * ```
 */
export class SpiffeError extends Error {
  /** A stable, machine-readable code. */
  readonly code: SpiffeErrorCode;

  constructor(code: SpiffeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A SPIFFE ID or trust domain that breaks a rule of the SPIFFE ID specification.
 * {@link SpiffeIdError.rule} names the rule.
 *
 * @example
 * ```ts
 * import { SpiffeId, SpiffeIdError } from '@spiffe-node/spiffe';
 * try { SpiffeId.fromString('spiffe://example.org:8080/x'); }
 * catch (err) { if (err instanceof SpiffeIdError) console.log(err.rule); } // 'trust-domain-port'
 * ```
 */
export class SpiffeIdError extends SpiffeError {
  /** The rule the input broke, e.g. `path-empty-segment` or `trust-domain-character`. */
  readonly rule: string;

  constructor(
    code: 'ERR_SPIFFEID_INVALID' | 'ERR_TRUST_DOMAIN_INVALID',
    rule: string,
    message: string,
  ) {
    super(code, message);
    this.rule = rule;
  }
}

/**
 * A trust bundle that cannot be parsed, or a bundle or authority that is missing.
 *
 * @example
 * ```ts
 * import { JwtBundle, BundleError, TrustDomain } from '@spiffe-node/spiffe';
 * try { JwtBundle.parse(TrustDomain.fromString('example.org'), 'not json'); }
 * catch (err) { if (err instanceof BundleError) console.error(err.code); } // ERR_BUNDLE_INVALID
 * ```
 */
export class BundleError extends SpiffeError {}

/**
 * An X509-SVID that is malformed, breaks a rule of the X509-SVID specification, or does not
 * verify against the trust bundle of its trust domain.
 *
 * @example
 * ```ts
 * import { parseAndVerifyX509Svid, X509SvidError } from '@spiffe-node/spiffe';
 * try { parseAndVerifyX509Svid(chain, bundles); }
 * catch (err) { if (err instanceof X509SvidError) console.error(err.code, err.message); }
 * ```
 */
export class X509SvidError extends SpiffeError {
  /**
   * The X509-SVID rule the certificate broke, when one did: `leaf-uri-san-missing`,
   * `leaf-uri-san-multiple`, `leaf-uri-san-invalid`, `leaf-id-no-path`, `leaf-ca`,
   * `leaf-key-cert-sign`, `leaf-crl-sign`, `leaf-digital-signature`, `signing-not-ca`,
   * `signing-key-cert-sign`, `critical-extension`, `unparseable`, `expired`, `not-yet-valid`,
   * `signature-algorithm` (signed with SHA-1, MD5 or another refused algorithm),
   * `name-constraints` (a CA's name constraints refuse a name below it). Undefined for other
   * failures that are not a rule of one certificate (an untrusted chain, a key that does not
   * match).
   */
  readonly rule: string | undefined;

  constructor(code: SpiffeErrorCode, message: string, options?: { cause?: unknown; rule?: string }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.rule = options?.rule;
  }
}

/**
 * A JWT-SVID that is malformed, uses a forbidden algorithm, has invalid claims or a bad
 * signature, or was issued for another audience.
 *
 * @example
 * ```ts
 * import { parseAndValidateJwtSvid, JwtSvidError } from '@spiffe-node/spiffe';
 * try { await parseAndValidateJwtSvid(token, bundles, ['spiffe://example.org/server']); }
 * catch (err) { if (err instanceof JwtSvidError) console.error(`Invalid token: ${err.message}`); }
 * ```
 */
export class JwtSvidError extends SpiffeError {}

/**
 * A peer whose SPIFFE ID an authorizer refused. The message reads
 * `unexpected ID "spiffe://example.org/server"`; {@link AuthorizationError.peerId} holds the ID.
 *
 * @example
 * ```ts
 * import { authorizeId, AuthorizationError, SpiffeId } from '@spiffe-node/spiffe';
 * const authorize = authorizeId(SpiffeId.fromString('spiffe://example.org/client'));
 * try { authorize(SpiffeId.fromString('spiffe://example.org/server'), []); }
 * catch (err) { if (err instanceof AuthorizationError) console.error(err.message); }
 * ```
 */
export class AuthorizationError extends SpiffeError {
  /** The refused peer ID, as a string. */
  readonly peerId: string;

  constructor(peerId: string, message = `unexpected ID "${peerId}"`) {
    super('ERR_UNAUTHORIZED_ID', message);
    this.peerId = peerId;
  }
}

/**
 * A failure talking to the Workload API: a bad endpoint address, an unreachable agent, a caller
 * without a registration entry, a malformed response, or a start-up timeout.
 *
 * @example
 * ```ts
 * import { X509Source, WorkloadApiError } from '@spiffe-node/spiffe';
 * try { await X509Source.create({ timeoutMs: 5000 }); }
 * catch (err) { if (err instanceof WorkloadApiError) console.error(err.message); }
 * ```
 */
export class WorkloadApiError extends SpiffeError {
  /** The gRPC status code, when the error came from a call. */
  readonly grpcCode: number | undefined;

  constructor(
    code: SpiffeErrorCode,
    message: string,
    options?: { cause?: unknown; grpcCode?: number },
  ) {
    super(code, message, options);
    this.grpcCode = options?.grpcCode;
  }
}

/**
 * A TLS peer that SPIFFE authentication rejected: code `ERR_TLS_PEER_REJECTED` (its
 * {@link TlsPeerError.reason} holds the underlying {@link X509SvidError} or
 * {@link AuthorizationError}), `ERR_TLS_NO_PEER_CERTIFICATE` (it presented none), or
 * `ERR_TLS_RENEGOTIATION_REFUSED` (it tried to renegotiate an established TLS 1.2 connection,
 * which could swap its certificate after verification; the connection was closed).
 *
 * @example
 * ```ts
 * import { dial, TlsPeerError } from '@spiffe-node/spiffe/tls';
 * try { await dial(options); }
 * catch (err) { if (err instanceof TlsPeerError) console.error(err.message); }
 * ```
 */
export class TlsPeerError extends SpiffeError {
  /** The error that caused the rejection. */
  readonly reason: SpiffeError | undefined;

  constructor(code: SpiffeErrorCode, message: string, reason?: SpiffeError) {
    super(code, message, reason ? { cause: reason } : undefined);
    this.reason = reason;
  }
}

/**
 * A failure fetching a trust domain's bundle from its SPIFFE bundle endpoint. The code says
 * which cause:
 *
 * - `ERR_FEDERATION_FETCH`: the endpoint could not be reached, or answered with an HTTP status
 *   other than 200.
 * - `ERR_FEDERATION_ENDPOINT_REJECTED`: the endpoint failed authentication (`https_web`: a
 *   certificate not issued by a trusted CA or not for the URL's host; `https_spiffe`: an
 *   X509-SVID that does not verify against its trust domain's bundle, or another SPIFFE ID).
 * - `ERR_FEDERATION_REDIRECT`: a redirect this library does not follow (to another host or
 *   port, to a URL that is not a bundle endpoint URL, or too many).
 * - `ERR_FEDERATION_TIMEOUT`: no complete answer within the time allowed.
 * - `ERR_FEDERATION_TOO_LARGE`: a body over the size allowed.
 * - `ERR_FEDERATION_BAD_BUNDLE`: the body is not a SPIFFE bundle document of the expected trust
 *   domain.
 *
 * {@link FederationError.trustDomain} and {@link FederationError.url} say which relationship.
 *
 * @example
 * ```ts
 * import { fetchBundle } from '@spiffe-node/spiffe/federation';
 * import { FederationError } from '@spiffe-node/spiffe/errors';
 * try { await fetchBundle(endpoint); }
 * catch (err) { if (err instanceof FederationError && err.code === 'ERR_FEDERATION_ENDPOINT_REJECTED') alert(err.message); }
 * ```
 */
export class FederationError extends SpiffeError {
  /** The trust domain whose bundle was being fetched (its name). */
  readonly trustDomain: string;
  /** The bundle endpoint URL that was being fetched. */
  readonly url: string;

  constructor(
    code: SpiffeErrorCode,
    message: string,
    options: { trustDomain: string; url: string; cause?: unknown },
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.trustDomain = options.trustDomain;
    this.url = options.url;
  }
}
