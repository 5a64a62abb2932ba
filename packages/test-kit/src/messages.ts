/**
 * The Workload API messages the fake agent serves and records, in the shape `@grpc/proto-loader`
 * gives `workload.proto` with `keepCase` and defaults: snake_case field names, `bytes` as
 * `Buffer`/`Uint8Array`, maps as plain objects.
 *
 * These restate the library's own (internal) message types, which this package cannot import
 * without depending on the library; the library's `workloadapi/testing/messages.test.ts` checks
 * that both declarations accept the same values.
 *
 * @module
 */

/**
 * One X509-SVID on the wire.
 *
 * @example
 * ```ts
 * const m: X509SvidMessage = { spiffe_id: 'spiffe://example.org/web', x509_svid: chainDer,
 *   x509_svid_key: pkcs8Der, bundle: rootsDer, hint: '' };
 * ```
 */
export interface X509SvidMessage {
  /** The SPIFFE ID of the SVID. */
  spiffe_id: string;
  /** DER certificates concatenated, leaf first. */
  x509_svid: Uint8Array;
  /** The private key, PKCS#8 DER. */
  x509_svid_key: Uint8Array;
  /** The CA certificates of the SVID's trust domain, DER concatenated. */
  bundle: Uint8Array;
  /** An operator-chosen hint. */
  hint?: string;
}

/**
 * `X509SVIDResponse`: the caller's SVIDs (the first is the default), CRLs and federated bundles.
 *
 * @example
 * ```ts
 * const m: X509SvidResponseMessage = { svids: [svid], crl: [], federated_bundles: {} };
 * ```
 */
export interface X509SvidResponseMessage {
  svids: X509SvidMessage[];
  crl?: Uint8Array[];
  /** Keyed by trust domain ID (`spiffe://td`), DER certificates concatenated. */
  federated_bundles?: Record<string, Uint8Array>;
}

/**
 * `X509BundlesResponse`.
 *
 * @example
 * ```ts
 * const m: X509BundlesResponseMessage = { bundles: { 'spiffe://example.org': rootsDer } };
 * ```
 */
export interface X509BundlesResponseMessage {
  crl?: Uint8Array[];
  /** Keyed by trust domain ID (`spiffe://td`), DER certificates concatenated. */
  bundles: Record<string, Uint8Array>;
}

/**
 * `JWTSVIDRequest`.
 *
 * @example
 * ```ts
 * const m: JwtSvidRequestMessage = { audience: ['spiffe://example.org/db'], spiffe_id: '' };
 * ```
 */
export interface JwtSvidRequestMessage {
  audience: string[];
  /** The SPIFFE ID wanted, or `''` for all of the caller's. */
  spiffe_id: string;
}

/**
 * One JWT-SVID on the wire.
 *
 * @example
 * ```ts
 * const m: JwtSvidMessage = { spiffe_id: 'spiffe://example.org/web', svid: token, hint: '' };
 * ```
 */
export interface JwtSvidMessage {
  spiffe_id: string;
  /** The token, compact JWS. */
  svid: string;
  hint?: string;
}

/**
 * `JWTSVIDResponse`.
 *
 * @example
 * ```ts
 * const m: JwtSvidResponseMessage = { svids: [{ spiffe_id: id, svid: token }] };
 * ```
 */
export interface JwtSvidResponseMessage {
  svids: JwtSvidMessage[];
}

/**
 * `JWTBundlesResponse`.
 *
 * @example
 * ```ts
 * const m: JwtBundlesResponseMessage = { bundles: { 'spiffe://example.org': Buffer.from(jwks) } };
 * ```
 */
export interface JwtBundlesResponseMessage {
  /** Keyed by trust domain ID (`spiffe://td`); each value a JWK Set as JSON. */
  bundles: Record<string, Uint8Array>;
}

/**
 * `ValidateJWTSVIDRequest`.
 *
 * @example
 * ```ts
 * const m: ValidateJwtSvidRequestMessage = { audience: 'spiffe://example.org/db', svid: token };
 * ```
 */
export interface ValidateJwtSvidRequestMessage {
  audience: string;
  svid: string;
}

/**
 * A `google.protobuf.Value` as proto-loader represents it (`oneofs: true` adds `kind`).
 *
 * @example
 * ```ts
 * const v: ProtoValue = { stringValue: 'x', kind: 'stringValue' };
 * ```
 */
export interface ProtoValue {
  nullValue?: string | number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: { values: ProtoValue[] };
  kind?: string;
}

/**
 * A `google.protobuf.Struct` as the codec represents it (the camelCase field names of the
 * well-known type's JSON mapping, as proto-loader gave them).
 *
 * @example
 * ```ts
 * const s: ProtoStruct = { fields: { sub: { stringValue: 'spiffe://example.org/web' } } };
 * ```
 */
export interface ProtoStruct {
  fields: Record<string, ProtoValue>;
}

/**
 * `ValidateJWTSVIDResponse`.
 *
 * @example
 * ```ts
 * const m: ValidateJwtSvidResponseMessage = { spiffe_id: 'spiffe://example.org/web', claims: { fields: {} } };
 * ```
 */
export interface ValidateJwtSvidResponseMessage {
  spiffe_id: string;
  claims?: ProtoStruct | null;
}
