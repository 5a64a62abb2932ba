import type { SpiffeId } from '../../spiffeid/index.js';

/**
 * The fields of a {@link JwtSvid}.
 *
 * @example
 * ```ts
 * const fields: JwtSvidFields = { id, audience: ['spiffe://example.org/server'], expiry, claims, token };
 * ```
 */
export interface JwtSvidFields {
  /** The SPIFFE ID in the `sub` claim. */
  id: SpiffeId;
  /** The `aud` claim, always as an array. */
  audience: readonly string[];
  /** The `exp` claim. */
  expiry: Date;
  /** The `iat` claim, when the token has one. */
  issuedAt?: Date | undefined;
  /** Every claim of the token, as decoded from its payload. */
  claims: Record<string, unknown>;
  /** The token, in the compact serialization. */
  token: string;
  /** The operator-chosen hint the Workload API attached to the SVID; `''` when none. */
  hint?: string | undefined;
}

/**
 * A JWT-SVID: a SPIFFE identity asserted by a signed JWT (compact JWS).
 *
 * Obtain one from {@link parseAndValidateJwtSvid} (a token you received and must trust),
 * {@link parseInsecureJwtSvid} (a token you fetched yourself and only need to read) or a
 * {@link JwtSvidSource} such as the Workload API.
 *
 * @example
 * ```ts
 * import { parseAndValidateJwtSvid } from '@spiffe-node/spiffe';
 * const svid = await parseAndValidateJwtSvid(token, bundles, ['spiffe://example.org/server']);
 * svid.id.toString();   // 'spiffe://example.org/client'
 * svid.audience;        // ['spiffe://example.org/server']
 * svid.expiry;          // Date of the `exp` claim
 * svid.claims['iat'];   // any claim, as decoded
 * ```
 */
export class JwtSvid {
  /** The SPIFFE ID in the `sub` claim. */
  readonly id: SpiffeId;
  /** The `aud` claim, always as an array (a token whose `aud` is one string gives `[that]`). */
  readonly audience: readonly string[];
  /** When the token expires (the `exp` claim). */
  readonly expiry: Date;
  /** When the token was issued (the `iat` claim), if it says. */
  readonly issuedAt: Date | undefined;
  /** Every claim of the token's payload, as decoded. */
  readonly claims: Record<string, unknown>;
  /** The token in the compact serialization; send it as `Authorization: Bearer <token>`. */
  readonly token: string;
  /** The operator-chosen hint the Workload API attached to the SVID; `''` when none. */
  readonly hint: string;

  /**
   * Builds a JWT-SVID from fields that have already been checked. This does no validation:
   * use {@link parseAndValidateJwtSvid} for tokens you receive.
   *
   * @example
   * ```ts
   * const copy = new JwtSvid({ ...svid, hint: 'internal' });
   * ```
   */
  constructor(fields: JwtSvidFields) {
    this.id = fields.id;
    this.audience = Object.freeze([...fields.audience]);
    this.expiry = new Date(fields.expiry.getTime());
    this.issuedAt = fields.issuedAt === undefined ? undefined : new Date(fields.issuedAt.getTime());
    this.claims = fields.claims;
    this.token = fields.token;
    this.hint = fields.hint ?? '';
  }

  /**
   * The token, in the compact serialization.
   *
   * @example
   * ```ts
   * await fetch(url, { headers: { authorization: `Bearer ${svid.marshal()}` } });
   * ```
   */
  marshal(): string {
    return this.token;
  }
}
