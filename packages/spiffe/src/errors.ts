/**
 * Errors raised by the library.
 *
 * Every error that comes from bad input (an invalid SPIFFE ID, a certificate that is not an
 * X509-SVID, a token that fails validation, an unreachable Workload API, ...) is a
 * {@link SpiffeError} with a stable {@link SpiffeError.code}. Each code belongs to exactly one
 * class, so `err instanceof X509SvidError` and `err.code.startsWith('ERR_X509SVID_')` agree:
 *
 * | class | codes |
 * |---|---|
 * | {@link SpiffeIdError} | `ERR_SPIFFEID_INVALID`, `ERR_TRUST_DOMAIN_INVALID` |
 * | {@link BundleError} | `ERR_BUNDLE_INVALID`, `ERR_BUNDLE_NOT_FOUND`, `ERR_AUTHORITY_NOT_FOUND` |
 * | {@link X509SvidError} | `ERR_X509SVID_*` |
 * | {@link JwtSvidError} | `ERR_JWTSVID_*` |
 * | {@link AuthorizationError} | `ERR_UNAUTHORIZED_ID` |
 * | {@link WorkloadApiError} | `ERR_WORKLOADAPI_*`, `ERR_SVID_NOT_FOUND` |
 * | {@link SourceClosedError} | `ERR_SOURCE_CLOSED` (every source and the Workload API client) |
 * | {@link TlsPeerError} | `ERR_TLS_PEER_REJECTED`, `ERR_TLS_NO_PEER_CERTIFICATE`, `ERR_TLS_RENEGOTIATION_REFUSED` |
 * | {@link TlsConnectionError} | `ERR_TLS_HANDSHAKE_TIMEOUT`, `ERR_TLS_CONNECTION_CLOSED`, `ERR_TLS_ABORTED`, `ERR_HTTP2_NOT_NEGOTIATED` |
 * | {@link FileSourceError} | `ERR_FILE_SOURCE` |
 * | {@link OptionalPeerError} | `ERR_OPTIONAL_PEER_MISSING` |
 * | {@link FederationError} | `ERR_FEDERATION_*` |
 *
 * Programs branch on `code` (or the class), never on the message. Misuse of the API itself (a
 * wrong argument type, an empty audience list) throws a plain `TypeError`. Nothing else leaves
 * the library, except what the caller's own code threw (an authorizer, a listener, an abort
 * reason) and the network errors of Node itself (`ECONNREFUSED`, ...).
 *
 * Messages start with the area they come from (`spiffeid: `, `x509svid: `, `jwtsvid: `, ...), say
 * what was wrong and, where it helps, what to do about it.
 *
 * @module
 */

/** The codes of {@link SpiffeIdError}. */
export type SpiffeIdErrorCode = 'ERR_SPIFFEID_INVALID' | 'ERR_TRUST_DOMAIN_INVALID';
/** The codes of {@link BundleError}. */
export type BundleErrorCode = 'ERR_BUNDLE_INVALID' | 'ERR_BUNDLE_NOT_FOUND' | 'ERR_AUTHORITY_NOT_FOUND';
/** The codes of {@link X509SvidError}. */
export type X509SvidErrorCode =
  'ERR_X509SVID_INVALID' | 'ERR_X509SVID_KEY_MISMATCH' | 'ERR_X509SVID_UNTRUSTED' | 'ERR_X509SVID_EXPIRED' | 'ERR_X509SVID_NOT_YET_VALID';
/** The codes of {@link JwtSvidError}. */
export type JwtSvidErrorCode =
  | 'ERR_JWTSVID_MALFORMED'
  | 'ERR_JWTSVID_UNSUPPORTED_ALG'
  | 'ERR_JWTSVID_INVALID_HEADER'
  | 'ERR_JWTSVID_INVALID_CLAIMS'
  | 'ERR_JWTSVID_SIGNATURE'
  | 'ERR_JWTSVID_AUDIENCE'
  | 'ERR_JWTSVID_EXPIRED'
  | 'ERR_JWTSVID_NOT_YET_VALID'
  | 'ERR_JWTSVID_KEY_NOT_FOUND';
/** The codes of {@link WorkloadApiError}. */
export type WorkloadApiErrorCode =
  | 'ERR_WORKLOADAPI_ADDRESS'
  | 'ERR_WORKLOADAPI_UNAVAILABLE'
  | 'ERR_WORKLOADAPI_PERMISSION_DENIED'
  | 'ERR_WORKLOADAPI_INVALID_ARGUMENT'
  | 'ERR_WORKLOADAPI_RESPONSE'
  | 'ERR_WORKLOADAPI_RPC'
  | 'ERR_WORKLOADAPI_TIMEOUT'
  | 'ERR_SVID_NOT_FOUND';
/** The codes of {@link TlsPeerError}. */
export type TlsPeerErrorCode = 'ERR_TLS_PEER_REJECTED' | 'ERR_TLS_NO_PEER_CERTIFICATE' | 'ERR_TLS_RENEGOTIATION_REFUSED';
/** The codes of {@link TlsConnectionError}. */
export type TlsConnectionErrorCode =
  'ERR_TLS_HANDSHAKE_TIMEOUT' | 'ERR_TLS_CONNECTION_CLOSED' | 'ERR_TLS_ABORTED' | 'ERR_HTTP2_NOT_NEGOTIATED';

/** The codes of {@link FederationError}. */
export type FederationErrorCode =
  | 'ERR_FEDERATION_FETCH'
  | 'ERR_FEDERATION_ENDPOINT_REJECTED'
  | 'ERR_FEDERATION_REDIRECT'
  | 'ERR_FEDERATION_TIMEOUT'
  | 'ERR_FEDERATION_TOO_LARGE'
  | 'ERR_FEDERATION_BAD_BUNDLE';

/**
 * The stable error codes. New codes may be added; existing ones never change meaning.
 */
export type SpiffeErrorCode =
  | SpiffeIdErrorCode
  | BundleErrorCode
  | X509SvidErrorCode
  | JwtSvidErrorCode
  | 'ERR_UNAUTHORIZED_ID'
  | WorkloadApiErrorCode
  | 'ERR_SOURCE_CLOSED'
  | TlsPeerErrorCode
  | TlsConnectionErrorCode
  | 'ERR_FILE_SOURCE'
  | 'ERR_OPTIONAL_PEER_MISSING'
  | FederationErrorCode;

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

  /** Only the subclasses construct errors: each code belongs to one of them. */
  protected constructor(code: SpiffeErrorCode, message: string, options?: { cause?: unknown }) {
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

  override readonly code: SpiffeIdErrorCode;

  constructor(code: SpiffeIdErrorCode, rule: string, message: string) {
    super(code, message);
    this.code = code;
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
export class BundleError extends SpiffeError {
  override readonly code: BundleErrorCode;

  constructor(code: BundleErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.code = code;
  }
}

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
  override readonly code: X509SvidErrorCode;

  constructor(code: X509SvidErrorCode, message: string, options?: { cause?: unknown; rule?: string }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
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
export class JwtSvidError extends SpiffeError {
  override readonly code: JwtSvidErrorCode;

  constructor(code: JwtSvidErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.code = code;
  }
}

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
  override readonly code: WorkloadApiErrorCode;

  constructor(code: WorkloadApiErrorCode, message: string, options?: { cause?: unknown; grpcCode?: number }) {
    super(code, message, options);
    this.code = code;
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
  override readonly code: TlsPeerErrorCode;

  constructor(code: TlsPeerErrorCode, message: string, reason?: SpiffeError) {
    super(code, message, reason ? { cause: reason } : undefined);
    this.code = code;
    this.reason = reason;
  }
}

/**
 * A TLS connection of a client helper (`dial`, the https agent, the undici dispatcher,
 * `connectHttp2`, the gRPC channel credentials) that ended before the server was authenticated:
 * `ERR_TLS_HANDSHAKE_TIMEOUT` (the handshake did not complete in time), `ERR_TLS_CONNECTION_CLOSED`
 * (the connection closed first), `ERR_TLS_ABORTED` (the caller's signal aborted it without a
 * reason of its own), or `ERR_HTTP2_NOT_NEGOTIATED` (the server did not agree to HTTP/2).
 *
 * @example
 * ```ts
 * import { dial } from '@spiffe-node/spiffe/tls';
 * import { TlsConnectionError } from '@spiffe-node/spiffe/errors';
 * try { await dial({ ...options, timeoutMs: 2000 }); }
 * catch (err) { if (err instanceof TlsConnectionError && err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') retryLater(); }
 * ```
 */
export class TlsConnectionError extends SpiffeError {
  override readonly code: TlsConnectionErrorCode;

  constructor(code: TlsConnectionErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.code = code;
  }
}

/**
 * A source used after `close()`: code `ERR_SOURCE_CLOSED`, from the Workload API sources and
 * client and from the file sources alike.
 *
 * @example
 * ```ts
 * import { SourceClosedError } from '@spiffe-node/spiffe/errors';
 * await source.close();
 * try { source.getX509Svid(); }
 * catch (err) { if (err instanceof SourceClosedError) console.error(err.message); }
 * ```
 */
export class SourceClosedError extends SpiffeError {
  override readonly code: 'ERR_SOURCE_CLOSED';

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SOURCE_CLOSED', message, options);
    this.code = 'ERR_SOURCE_CLOSED';
  }
}

/**
 * Files a file source cannot use: unreadable, not an X509-SVID with its key, an expired
 * certificate, or an invalid bundle file. Code `ERR_FILE_SOURCE`; the message names the file.
 *
 * @example
 * ```ts
 * import { fileX509Source } from '@spiffe-node/spiffe/files';
 * import { FileSourceError } from '@spiffe-node/spiffe/errors';
 * try { fileX509Source({ certFile: 'svid.pem', keyFile: 'svid_key.pem' }); }
 * catch (err) { if (err instanceof FileSourceError) console.error(err.message); }
 * ```
 */
export class FileSourceError extends SpiffeError {
  override readonly code: 'ERR_FILE_SOURCE';

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FILE_SOURCE', message, options);
    this.code = 'ERR_FILE_SOURCE';
  }
}

/**
 * An optional peer dependency (`undici`, `@grpc/grpc-js`) that a function needs is not
 * installed in the application. Code `ERR_OPTIONAL_PEER_MISSING`; the message names the
 * function and the install command, {@link OptionalPeerError.packageName} the package.
 *
 * @example
 * ```ts
 * import { createSpiffeDispatcher } from '@spiffe-node/spiffe/undici';
 * import { OptionalPeerError } from '@spiffe-node/spiffe/errors';
 * try { createSpiffeDispatcher(options); }
 * catch (err) { if (err instanceof OptionalPeerError) console.error(`npm install ${err.packageName}`); }
 * ```
 */
export class OptionalPeerError extends SpiffeError {
  override readonly code: 'ERR_OPTIONAL_PEER_MISSING';
  /** The package that is missing, e.g. `undici`. */
  readonly packageName: string;

  constructor(packageName: string, message: string, options?: { cause?: unknown }) {
    super('ERR_OPTIONAL_PEER_MISSING', message, options);
    this.code = 'ERR_OPTIONAL_PEER_MISSING';
    this.packageName = packageName;
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
  override readonly code: FederationErrorCode;

  constructor(code: FederationErrorCode, message: string, options: { trustDomain: string; url: string; cause?: unknown }) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.trustDomain = options.trustDomain;
    this.url = options.url;
  }
}
