import { type X509Certificate, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { malformedKeyMember } from './jwk-members.js';
import { BundleError } from '../errors.js';
import type { TrustDomain } from '../spiffeid/index.js';
import { parseDerCertificate } from './certificates.js';
import { JwtBundle } from './jwt-bundle.js';
import { X509Bundle, assertTrustDomain } from './x509-bundle.js';
import type { JwtBundleSource, X509BundleSource } from './source.js';

const X509_SVID_USE = 'x509-svid';
const JWT_SVID_USE = 'jwt-svid';
/** JWK key types whose keys node:crypto can import; keys of other types are ignored. */
const KNOWN_KEY_TYPES = new Set(['EC', 'RSA', 'OKP']);
/** JWK members that hold private key material. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkSeconds(value: unknown, what: string, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${where}: ${what} must be a non-negative integer or undefined`);
  }
  return value;
}

/**
 * What {@link SpiffeBundle}'s constructor accepts.
 *
 * @example
 * ```ts
 * const init: SpiffeBundleInit = { x509Authorities: [caCert], sequenceNumber: 1 };
 * new SpiffeBundle(td, init);
 * ```
 */
export interface SpiffeBundleInit {
  x509Authorities?: readonly X509Certificate[];
  jwtAuthorities?: Map<string, KeyObject>;
  /** How often to re-fetch the bundle, in seconds (`spiffe_refresh_hint`). */
  refreshHint?: number;
  /** The bundle's sequence number (`spiffe_sequence`). */
  sequenceNumber?: number;
}

/**
 * A bundle in the SPIFFE bundle format (the format trust domains exchange for federation): the
 * X.509 authorities and JWT authorities of one trust domain, with an optional refresh hint and
 * sequence number. The document is a JWK Set: keys with `"use": "x509-svid"` carry one CA
 * certificate in `x5c`, keys with `"use": "jwt-svid"` a JWT signing key with a `kid`. Keys of
 * an unknown `kty` or `use` are ignored; `"keys": []` trusts nothing.
 *
 * A SpiffeBundle is both an {@link X509BundleSource} and a {@link JwtBundleSource} for its own
 * trust domain.
 *
 * @example
 * ```ts
 * import { SpiffeBundle, TrustDomain } from '@spiffe-node/spiffe';
 * const td = TrustDomain.fromString('partner.org');
 * const bundle = SpiffeBundle.parse(td, await (await fetch(bundleEndpointUrl)).text());
 * bundle.x509Authorities().length;
 * bundle.refreshHint; // seconds, or undefined
 * ```
 */
export class SpiffeBundle implements X509BundleSource, JwtBundleSource {
  /** The trust domain the bundle belongs to. */
  readonly trustDomain: TrustDomain;
  readonly #x509: X509Bundle;
  #jwt: JwtBundle;
  #refreshHint: number | undefined;
  #sequenceNumber: number | undefined;

  /**
   * Creates a bundle, empty or from authorities.
   *
   * @example
   * ```ts
   * const bundle = new SpiffeBundle(td, { x509Authorities: [caCert], refreshHint: 300 });
   * ```
   */
  constructor(trustDomain: TrustDomain, init: SpiffeBundleInit = {}) {
    assertTrustDomain(trustDomain, 'new SpiffeBundle');
    this.trustDomain = trustDomain;
    this.#x509 = X509Bundle.fromAuthorities(trustDomain, init.x509Authorities ?? []);
    this.#jwt = JwtBundle.fromJwtAuthorities(trustDomain, init.jwtAuthorities ?? new Map<string, KeyObject>());
    this.refreshHint = init.refreshHint;
    this.sequenceNumber = init.sequenceNumber;
  }

  /**
   * A SPIFFE bundle holding the authorities of an X.509 bundle (a copy).
   *
   * @example
   * ```ts
   * const doc = SpiffeBundle.fromX509Bundle(x509Bundle).marshal();
   * ```
   */
  static fromX509Bundle(bundle: X509Bundle): SpiffeBundle {
    if (!(bundle instanceof X509Bundle)) throw new TypeError('SpiffeBundle.fromX509Bundle: expected an X509Bundle');
    return new SpiffeBundle(bundle.trustDomain, { x509Authorities: bundle.authorities() });
  }

  /**
   * A SPIFFE bundle holding the authorities of a JWT bundle (a copy).
   *
   * @example
   * ```ts
   * const doc = SpiffeBundle.fromJwtBundle(jwtBundle).marshal();
   * ```
   */
  static fromJwtBundle(bundle: JwtBundle): SpiffeBundle {
    if (!(bundle instanceof JwtBundle)) throw new TypeError('SpiffeBundle.fromJwtBundle: expected a JwtBundle');
    const out = new SpiffeBundle(bundle.trustDomain);
    out.#jwtReplace(JwtBundle.parse(bundle.trustDomain, bundle.marshal()));
    return out;
  }

  /**
   * Parses a SPIFFE bundle document.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_INVALID` for JSON that is not a JWK Set, a missing
   *   `keys` member, an `x509-svid` key without exactly one certificate in `x5c` (or whose
   *   certificate does not match the key), a `jwt-svid` key without `kid`, a duplicate `kid`,
   *   private key material, or a malformed `spiffe_sequence` / `spiffe_refresh_hint`.
   * @example
   * ```ts
   * const bundle = SpiffeBundle.parse(TrustDomain.fromString('example.org'), json);
   * ```
   */
  static parse(trustDomain: TrustDomain, json: string | Uint8Array): SpiffeBundle {
    assertTrustDomain(trustDomain, 'SpiffeBundle.parse');
    const fail = (message: string, cause?: unknown): BundleError =>
      new BundleError(
        'ERR_BUNDLE_INVALID',
        `spiffebundle: bundle of "${trustDomain.name}": ${message}`,
        cause === undefined ? undefined : { cause },
      );
    let text: string;
    if (typeof json === 'string') text = json;
    else if (json instanceof Uint8Array) {
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(json);
      } catch (err) {
        throw fail('the document is not valid UTF-8', err);
      }
    } else {
      throw new TypeError('SpiffeBundle.parse: expected the bundle as a string or Uint8Array');
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw fail(`the document is not valid JSON: ${(err as Error).message}`, err);
    }
    if (!isPlainObject(doc)) throw fail('the document is not a JSON object (a JWK Set)');
    const keys = doc['keys'];
    if (!Array.isArray(keys)) {
      throw fail(
        `"keys" must be an array of JWKs (use [] to trust nothing), got ${keys === undefined ? 'nothing' : keys === null ? 'null' : typeof keys}`,
      );
    }
    const readSeconds = (member: string): number | undefined => {
      const v = doc[member];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
        throw fail(`"${member}" must be a non-negative integer, got ${JSON.stringify(v)}`);
      }
      return v;
    };
    const bundle = new SpiffeBundle(trustDomain, {
      refreshHint: readSeconds('spiffe_refresh_hint'),
      sequenceNumber: readSeconds('spiffe_sequence'),
    });

    // The JWT authorities are read by JwtBundle, given the jwt-svid keys at their original
    // positions (others masked so that it skips them), so that its messages name the right key.
    let hasJwt = false;
    const jwtOnly = keys.map((key: unknown, index: number) => {
      if (!isPlainObject(key)) throw fail(`key ${index} is not a JSON object`);
      const { use, kty } = key;
      if (use !== undefined && typeof use !== 'string') throw fail(`key ${index} has a non-string "use"`);
      if (use === JWT_SVID_USE || use === X509_SVID_USE) {
        if (typeof kty !== 'string') throw fail(`${use} key ${index} has no "kty" string`);
        if (use === JWT_SVID_USE) {
          hasJwt = true;
          return key;
        }
        if (KNOWN_KEY_TYPES.has(kty)) bundle.#x509.addAuthority(parseX509Key(key, index, fail));
      }
      // Keys of another (or no) use, and of key types we do not know, are ignored.
      return { kty: '', use: 'ignored' };
    });
    if (hasJwt) {
      try {
        bundle.#jwtReplace(JwtBundle.parse(trustDomain, JSON.stringify({ keys: jwtOnly })));
      } catch (err) {
        if (err instanceof BundleError) throw fail(err.message.replace(/^jwtbundle: /, '').replace(/ of JWKS/g, ''), err);
        throw err;
      }
    }
    return bundle;
  }

  /** Replaces the JWT half (a JwtBundle built by parsing, so declared algorithms survive). */
  #jwtReplace(source: JwtBundle): void {
    this.#jwt = source;
  }

  /**
   * How often, in seconds, the bundle should be re-fetched (`spiffe_refresh_hint`), if given.
   *
   * @example
   * ```ts
   * setTimeout(refresh, (bundle.refreshHint ?? 300) * 1000);
   * ```
   */
  get refreshHint(): number | undefined {
    return this.#refreshHint;
  }

  set refreshHint(seconds: number | undefined) {
    this.#refreshHint = checkSeconds(seconds, 'refreshHint', 'SpiffeBundle');
  }

  /**
   * The bundle's sequence number (`spiffe_sequence`), if given.
   *
   * @example
   * ```ts
   * if ((fresh.sequenceNumber ?? 0) > (current.sequenceNumber ?? 0)) current = fresh;
   * ```
   */
  get sequenceNumber(): number | undefined {
    return this.#sequenceNumber;
  }

  set sequenceNumber(value: number | undefined) {
    this.#sequenceNumber = checkSeconds(value, 'sequenceNumber', 'SpiffeBundle');
  }

  /**
   * The X.509 authorities (CA certificates). The array is a copy.
   *
   * @example
   * ```ts
   * bundle.x509Authorities().map((c) => c.subject);
   * ```
   */
  x509Authorities(): X509Certificate[] {
    return this.#x509.authorities();
  }

  /**
   * Adds an X.509 authority.
   *
   * @example
   * ```ts
   * bundle.addX509Authority(newCa);
   * ```
   */
  addX509Authority(cert: X509Certificate): void {
    this.#x509.addAuthority(cert);
  }

  /**
   * Removes an X.509 authority; returns whether it was there.
   *
   * @example
   * ```ts
   * bundle.removeX509Authority(oldCa);
   * ```
   */
  removeX509Authority(cert: X509Certificate): boolean {
    return this.#x509.removeAuthority(cert);
  }

  /**
   * Whether the bundle holds this X.509 authority.
   *
   * @example
   * ```ts
   * bundle.hasX509Authority(ca); // true
   * ```
   */
  hasX509Authority(cert: X509Certificate): boolean {
    return this.#x509.hasAuthority(cert);
  }

  /**
   * The JWT authorities, by key ID. The map is a copy.
   *
   * @example
   * ```ts
   * [...bundle.jwtAuthorities().keys()]; // key IDs
   * ```
   */
  jwtAuthorities(): Map<string, KeyObject> {
    return this.#jwt.jwtAuthorities();
  }

  /**
   * The JWT authority with key ID `kid`, or undefined.
   *
   * @example
   * ```ts
   * const key = bundle.findJwtAuthority('kid-1');
   * ```
   */
  findJwtAuthority(kid: string): KeyObject | undefined {
    return this.#jwt.findJwtAuthority(kid);
  }

  /**
   * Adds (or replaces) a JWT authority.
   *
   * @example
   * ```ts
   * bundle.addJwtAuthority('kid-2', publicKey);
   * ```
   */
  addJwtAuthority(kid: string, key: KeyObject): void {
    this.#jwt.addJwtAuthority(kid, key);
  }

  /**
   * Removes a JWT authority; returns whether it was there.
   *
   * @example
   * ```ts
   * bundle.removeJwtAuthority('kid-1');
   * ```
   */
  removeJwtAuthority(kid: string): boolean {
    return this.#jwt.removeJwtAuthority(kid);
  }

  /**
   * A copy of the X.509 half, as an {@link X509Bundle}.
   *
   * @example
   * ```ts
   * const x509 = spiffeBundle.x509Bundle();
   * ```
   */
  x509Bundle(): X509Bundle {
    return this.#x509.clone();
  }

  /**
   * A copy of the JWT half, as a {@link JwtBundle}.
   *
   * @example
   * ```ts
   * const jwt = spiffeBundle.jwtBundle();
   * ```
   */
  jwtBundle(): JwtBundle {
    return JwtBundle.parse(this.trustDomain, this.#jwt.marshal());
  }

  /**
   * The X.509 half of this bundle (the live one), as the one bundle of this source (see
   * {@link X509BundleSource.x509Bundles}).
   *
   * @example
   * ```ts
   * spiffeBundle.x509Bundles()[0]?.authorities();
   * ```
   */
  x509Bundles(): X509Bundle[] {
    return [this.#x509];
  }

  /**
   * The X.509 half of this bundle if `trustDomain` is its trust domain. The bundle returned is
   * the live one (no copy is made on this path, which TLS verification takes on every
   * handshake); use {@link SpiffeBundle.x509Bundle} for a copy.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` for another trust domain.
   * @example
   * ```ts
   * parseAndVerifyX509Svid(peerChain, spiffeBundle);
   * ```
   */
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle {
    assertTrustDomain(trustDomain, 'SpiffeBundle.getX509BundleForTrustDomain');
    this.#checkTrustDomain(trustDomain);
    return this.#x509;
  }

  /**
   * The JWT half of this bundle if `trustDomain` is its trust domain (the live one).
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` for another trust domain.
   * @example
   * ```ts
   * await parseAndValidateJwtSvid(token, spiffeBundle, ['spiffe://example.org/api']);
   * ```
   */
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle {
    assertTrustDomain(trustDomain, 'SpiffeBundle.getJwtBundleForTrustDomain');
    this.#checkTrustDomain(trustDomain);
    return this.#jwt;
  }

  #checkTrustDomain(trustDomain: TrustDomain): void {
    if (!trustDomain.equals(this.trustDomain)) {
      throw new BundleError(
        'ERR_BUNDLE_NOT_FOUND',
        `spiffebundle: no bundle for trust domain "${trustDomain.name}"; this bundle is for "${this.trustDomain.name}"`,
      );
    }
  }

  /**
   * Whether `other` has the same trust domain, authorities, refresh hint and sequence number.
   *
   * @example
   * ```ts
   * SpiffeBundle.parse(td, doc).equals(SpiffeBundle.parse(td, doc)); // true
   * ```
   */
  equals(other: SpiffeBundle): boolean {
    return (
      other instanceof SpiffeBundle &&
      other.trustDomain.equals(this.trustDomain) &&
      other.#refreshHint === this.#refreshHint &&
      other.#sequenceNumber === this.#sequenceNumber &&
      other.#x509.equals(this.#x509) &&
      other.#jwt.equals(this.#jwt)
    );
  }

  /**
   * The bundle as a SPIFFE bundle document (JSON): X.509 authorities first, then JWT
   * authorities, then `spiffe_refresh_hint` and `spiffe_sequence` when set.
   *
   * @example
   * ```ts
   * res.setHeader('content-type', 'application/json').end(bundle.marshal());
   * ```
   */
  marshal(): string {
    const keys: Record<string, unknown>[] = [];
    for (const cert of this.#x509.authorities()) {
      const jwk = cert.publicKey.export({ format: 'jwk' });
      keys.push({ use: X509_SVID_USE, ...jwk, x5c: [cert.raw.toString('base64')] });
    }
    const jwt = JSON.parse(this.#jwt.marshal()) as { keys: Record<string, unknown>[] };
    for (const key of jwt.keys) keys.push({ ...key, use: JWT_SVID_USE });
    const doc: Record<string, unknown> = { keys };
    if (this.#refreshHint !== undefined) doc['spiffe_refresh_hint'] = this.#refreshHint;
    if (this.#sequenceNumber !== undefined) doc['spiffe_sequence'] = this.#sequenceNumber;
    return JSON.stringify(doc);
  }
}

/** Reads the certificate of an `x509-svid` key and checks it against the key's own members. */
function parseX509Key(
  key: Record<string, unknown>,
  index: number,
  fail: (message: string, cause?: unknown) => BundleError,
): X509Certificate {
  const x5c = key['x5c'];
  if (!Array.isArray(x5c) || x5c.length !== 1) {
    throw fail(`x509-svid key ${index} must carry exactly one certificate in "x5c", found ${Array.isArray(x5c) ? x5c.length : 'none'}`);
  }
  for (const member of PRIVATE_MEMBERS) {
    if (member in key) throw fail(`x509-svid key ${index} contains private key material ("${member}")`);
  }
  const b64: unknown = x5c[0];
  if (typeof b64 !== 'string' || b64.length === 0 || b64.length % 4 !== 0 || !BASE64.test(b64)) {
    throw fail(`x509-svid key ${index}: "x5c" must hold a standard base64 DER certificate`);
  }
  const cert = parseDerCertificate(Buffer.from(b64, 'base64'), `x509-svid key ${index} certificate`, fail);
  const malformed = malformedKeyMember(key);
  if (malformed !== undefined) {
    throw fail(`x509-svid key ${index}: "${malformed}" is not unpadded base64url`);
  }
  let jwkKey: KeyObject;
  try {
    jwkKey = createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
  } catch (err) {
    throw fail(`x509-svid key ${index} is not a valid ${String(key['kty'])} public key: ${(err as Error).message}`, err);
  }
  let certKey: KeyObject;
  try {
    certKey = cert.publicKey;
  } catch (err) {
    throw fail(`x509-svid key ${index}: the public key of its "x5c" certificate cannot be decoded: ${(err as Error).message}`, err);
  }
  if (!jwkKey.equals(certKey)) {
    throw fail(`x509-svid key ${index}: the key does not match the public key of its "x5c" certificate`);
  }
  return cert;
}
