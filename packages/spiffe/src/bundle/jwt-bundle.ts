import { KeyObject, createPublicKey, type JsonWebKey } from 'node:crypto';
import { malformedKeyMember } from './jwk-members.js';
import { BundleError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { makeAuthorityEntry, type JwtAuthorityEntry, type JwtSvidAlgorithm } from '../svid/jwt/algorithms.js';
import type { JwtBundleSource } from './source.js';

/** The JWK `kty` values a JWT bundle holds keys of; keys of any other type are ignored. */
const PUBLIC_KEY_TYPES = new Set(['EC', 'RSA', 'OKP']);
/** JWK members that carry private key material; a trust bundle must never contain them. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

function bundleError(message: string, cause?: unknown): BundleError {
  return new BundleError('ERR_BUNDLE_INVALID', `jwtbundle: ${message}`, cause === undefined ? undefined : { cause });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function assertTrustDomain(td: unknown, where: string): asserts td is TrustDomain {
  if (!(td instanceof TrustDomain)) {
    throw new TypeError(`${where}: expected a TrustDomain, got ${td === null ? 'null' : typeof td}`);
  }
}

function assertKid(kid: unknown, where: string): asserts kid is string {
  if (typeof kid !== 'string' || kid === '') {
    throw new TypeError(`${where}: expected the key ID as a non-empty string`);
  }
}

function assertPublicKey(key: unknown, where: string): asserts key is KeyObject {
  if (!(key instanceof KeyObject) || key.type !== 'public') {
    throw new TypeError(`${where}: expected a public KeyObject (node:crypto createPublicKey)`);
  }
}

let internals: {
  keysVersion(bundle: JwtBundle): number;
  entry(bundle: JwtBundle, kid: string): JwtAuthorityEntry | undefined;
  entriesFor(bundle: JwtBundle, alg: JwtSvidAlgorithm): readonly JwtAuthorityEntry[];
};

/**
 * @internal A number that changes whenever a key of `bundle` is added, replaced or removed;
 * JWT-SVID validation forgets what it derived from the keys when it changes.
 */
export function jwtBundleKeysVersion(bundle: JwtBundle): number {
  return internals.keysVersion(bundle);
}

/** @internal The precomputed entry of key `kid` of `bundle`, used by JWT-SVID validation. */
export function jwtAuthorityEntry(bundle: JwtBundle, kid: string): JwtAuthorityEntry | undefined {
  return internals.entry(bundle, kid);
}

/**
 * @internal The precomputed entries of the keys of `bundle` that can verify `alg`, in insertion
 * order; used by JWT-SVID validation of tokens without `kid`.
 */
export function jwtAuthorityEntriesFor(bundle: JwtBundle, alg: JwtSvidAlgorithm): readonly JwtAuthorityEntry[] {
  return internals.entriesFor(bundle, alg);
}

/**
 * The JWT bundle of one trust domain: the public keys (JWT authorities) that may sign the
 * JWT-SVIDs of that trust domain, each under its key ID (`kid`).
 *
 * A bundle is parsed from a JWK Set (RFC 7517) such as the Workload API's `FetchJWTBundles`
 * returns, or built from `KeyObject`s. EC (P-256, P-384, P-521) and RSA keys verify JWT-SVIDs;
 * Ed25519 and other OKP keys are held (and marshalled back) but never verify a JWT-SVID.
 * Each key remembers the JWK `alg` it was published with, if any, and the algorithms it can
 * verify are computed once, when the key is added, so validating a token does no per-key work.
 * JWT-SVID validation also remembers, per bundle, the last tokens whose signature verified with
 * its keys (see {@link parseAndValidateJwtSvid}); any change of keys forgets them.
 *
 * Implements {@link JwtBundleSource} for its own trust domain.
 *
 * @example
 * ```ts
 * import { JwtBundle, TrustDomain } from '@spiffe-node/spiffe';
 * const td = TrustDomain.fromString('example.org');
 * const bundle = JwtBundle.parse(td, jwksJson);
 * const key = bundle.findJwtAuthority('C6vs25welZOx6WksNYfbMfiw9l96pMnD');
 * ```
 */
export class JwtBundle implements JwtBundleSource {
  /** The trust domain whose JWT-SVIDs these keys sign. */
  readonly trustDomain: TrustDomain;
  readonly #entries = new Map<string, JwtAuthorityEntry>();
  /** Per algorithm, the keys that fit it; rebuilt lazily after a change. */
  #byAlg: Map<JwtSvidAlgorithm, JwtAuthorityEntry[]> | undefined;
  /** Counts changes of keys; whatever was derived from an older version of the keys is stale. */
  #keysVersion = 0;

  /**
   * Creates an empty bundle (trusting nothing) for `trustDomain`.
   *
   * @example
   * ```ts
   * const bundle = new JwtBundle(TrustDomain.fromString('example.org'));
   * bundle.addJwtAuthority('key-1', publicKey);
   * ```
   */
  constructor(trustDomain: TrustDomain) {
    assertTrustDomain(trustDomain, 'new JwtBundle');
    this.trustDomain = trustDomain;
  }

  /**
   * Parses a JWK Set (JSON text or its UTF-8 bytes) into the JWT bundle of `trustDomain`.
   *
   * Rules: the document is an object whose `keys` is an array (`[]` trusts nothing). A key whose
   * `use` is absent or `jwt-svid` is a JWT authority and must carry a non-empty `kid`, unique in
   * the set. Keys whose `use` is `x509-svid` (X.509 authorities of a SPIFFE bundle) or any other
   * value, and keys of a `kty` other than `EC`, `RSA` and `OKP`, are skipped. Other members of
   * the document (`spiffe_sequence`, `spiffe_refresh_hint`, ...) are ignored, so a SPIFFE bundle
   * document parses into its JWT part. A key carrying private material is refused.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_INVALID` on malformed JSON, a missing or non-array
   *   `keys`, a JWT authority without `kid`, a duplicate `kid`, or a key that cannot be imported.
   * @example
   * ```ts
   * const bundle = JwtBundle.parse(TrustDomain.fromString('example.org'),
   *   '{"keys":[{"kty":"EC","kid":"k1","crv":"P-256","x":"...","y":"..."}]}');
   * ```
   */
  static parse(trustDomain: TrustDomain, jwksJson: string | Uint8Array): JwtBundle {
    assertTrustDomain(trustDomain, 'JwtBundle.parse');
    let text: string;
    if (typeof jwksJson === 'string') {
      text = jwksJson;
    } else if (jwksJson instanceof Uint8Array) {
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(jwksJson);
      } catch (err) {
        throw bundleError('unable to parse JWKS: the document is not valid UTF-8', err);
      }
    } else {
      throw new TypeError('JwtBundle.parse: expected the JWK Set as a string or a Uint8Array');
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw bundleError(`unable to parse JWKS: ${(err as Error).message}`, err);
    }
    if (!isPlainObject(doc)) {
      throw bundleError('unable to parse JWKS: the document is not a JSON object');
    }
    const keys = doc['keys'];
    if (!Array.isArray(keys)) {
      throw bundleError(
        `unable to parse JWKS: "keys" must be an array of JWKs, got ${keys === undefined ? 'nothing' : keys === null ? 'null' : typeof keys}`,
      );
    }
    const bundle = new JwtBundle(trustDomain);
    keys.forEach((jwk: unknown, index: number) => {
      const parsed = parseJwk(jwk, index);
      if (parsed === undefined) return;
      if (bundle.#entries.has(parsed.kid)) {
        throw bundleError(`duplicate key ID "${parsed.kid}" (key ${index} of JWKS); each JWT authority needs its own "kid"`);
      }
      bundle.#entries.set(parsed.kid, makeAuthorityEntry(parsed.kid, parsed.key, parsed.alg));
    });
    return bundle;
  }

  /**
   * Builds the bundle of `trustDomain` from a map of key ID → public key.
   *
   * @throws TypeError if a key ID is empty or a key is not a public `KeyObject`.
   * @example
   * ```ts
   * const bundle = JwtBundle.fromJwtAuthorities(td, new Map([['k1', publicKey]]));
   * ```
   */
  static fromJwtAuthorities(trustDomain: TrustDomain, authorities: Map<string, KeyObject>): JwtBundle {
    assertTrustDomain(trustDomain, 'JwtBundle.fromJwtAuthorities');
    if (!(authorities instanceof Map)) {
      throw new TypeError('JwtBundle.fromJwtAuthorities: expected a Map of key ID to public KeyObject');
    }
    const bundle = new JwtBundle(trustDomain);
    for (const [kid, key] of authorities) bundle.addJwtAuthority(kid, key);
    return bundle;
  }

  /**
   * The public key with key ID `kid`, or `undefined`.
   *
   * @example
   * ```ts
   * const key = bundle.findJwtAuthority('k1');
   * ```
   */
  findJwtAuthority(kid: string): KeyObject | undefined {
    return this.#entries.get(kid)?.key;
  }

  /**
   * Whether the bundle holds a key with key ID `kid`.
   *
   * @example
   * ```ts
   * if (!bundle.hasJwtAuthority('k1')) console.warn('key k1 was rotated out');
   * ```
   */
  hasJwtAuthority(kid: string): boolean {
    return this.#entries.has(kid);
  }

  /**
   * A copy of the key ID → public key map (changing it does not change the bundle).
   *
   * @example
   * ```ts
   * for (const [kid, key] of bundle.jwtAuthorities()) console.log(kid, key.asymmetricKeyType);
   * ```
   */
  jwtAuthorities(): Map<string, KeyObject> {
    const out = new Map<string, KeyObject>();
    for (const [kid, entry] of this.#entries) out.set(kid, entry.key);
    return out;
  }

  /**
   * The number of keys in the bundle.
   *
   * @example
   * ```ts
   * if (bundle.size === 0) console.warn('the bundle trusts no JWT-SVID');
   * ```
   */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Adds (or replaces) the key with key ID `kid`. A replaced key forgets the JWK `alg` the
   * previous one was published with.
   *
   * @throws TypeError if `kid` is empty or `key` is not a public `KeyObject`.
   * @example
   * ```ts
   * bundle.addJwtAuthority('k2', createPublicKey(pem));
   * ```
   */
  addJwtAuthority(kid: string, key: KeyObject): void {
    assertKid(kid, 'JwtBundle.addJwtAuthority');
    assertPublicKey(key, 'JwtBundle.addJwtAuthority');
    this.#entries.set(kid, makeAuthorityEntry(kid, key, undefined));
    this.#keysChanged();
  }

  /**
   * Removes the key with key ID `kid`; returns whether there was one.
   *
   * @example
   * ```ts
   * bundle.removeJwtAuthority('k1'); // true
   * ```
   */
  removeJwtAuthority(kid: string): boolean {
    const removed = this.#entries.delete(kid);
    if (removed) this.#keysChanged();
    return removed;
  }

  /**
   * Whether `other` is a JWT bundle of the same trust domain with the same keys under the same
   * key IDs (and the same published JWK `alg`s).
   *
   * @example
   * ```ts
   * JwtBundle.parse(td, bundle.marshal()).equals(bundle); // true
   * ```
   */
  equals(other: JwtBundle): boolean {
    if (!(other instanceof JwtBundle) || !other.trustDomain.equals(this.trustDomain)) return false;
    if (other.#entries.size !== this.#entries.size) return false;
    for (const [kid, entry] of this.#entries) {
      const theirs = other.#entries.get(kid);
      if (theirs === undefined || theirs.jwkAlg !== entry.jwkAlg || !theirs.key.equals(entry.key)) {
        return false;
      }
    }
    return true;
  }

  /**
   * The bundle as a JWK Set (JSON text): every key with its `kid`, `use: "jwt-svid"` and, when it
   * was published with one, its `alg`. {@link JwtBundle.parse} reads it back.
   *
   * @example
   * ```ts
   * fs.writeFileSync('bundle.jwks', bundle.marshal());
   * ```
   */
  marshal(): string {
    const keys: Record<string, unknown>[] = [];
    for (const [kid, entry] of this.#entries) {
      const { kty, ...rest } = entry.key.export({ format: 'jwk' });
      const jwk: Record<string, unknown> = { kty, kid, use: 'jwt-svid' };
      if (entry.jwkAlg !== undefined) jwk['alg'] = entry.jwkAlg;
      keys.push(Object.assign(jwk, rest));
    }
    return JSON.stringify({ keys });
  }

  /**
   * Returns this bundle when asked for its own trust domain.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` for any other trust domain.
   * @example
   * ```ts
   * const b = bundle.getJwtBundleForTrustDomain(TrustDomain.fromString('example.org'));
   * ```
   */
  getJwtBundleForTrustDomain(trustDomain: TrustDomain): JwtBundle {
    assertTrustDomain(trustDomain, 'JwtBundle.getJwtBundleForTrustDomain');
    if (!trustDomain.equals(this.trustDomain)) {
      throw new BundleError(
        'ERR_BUNDLE_NOT_FOUND',
        `jwtbundle: no JWT bundle for trust domain "${trustDomain.name}" (this bundle is for "${this.trustDomain.name}")`,
      );
    }
    return this;
  }

  #keysChanged(): void {
    this.#byAlg = undefined;
    this.#keysVersion++;
  }

  #entriesFor(alg: JwtSvidAlgorithm): readonly JwtAuthorityEntry[] {
    let byAlg = this.#byAlg;
    if (byAlg === undefined) {
      byAlg = new Map();
      for (const entry of this.#entries.values()) {
        for (const a of entry.verifiers.keys()) {
          let list = byAlg.get(a);
          if (list === undefined) byAlg.set(a, (list = []));
          list.push(entry);
        }
      }
      this.#byAlg = byAlg;
    }
    return byAlg.get(alg) ?? [];
  }

  static {
    internals = {
      keysVersion: (bundle) => bundle.#keysVersion,
      entry: (bundle, kid) => bundle.#entries.get(kid),
      entriesFor: (bundle, alg) => bundle.#entriesFor(alg),
    };
  }
}

interface ParsedJwk {
  kid: string;
  key: KeyObject;
  alg: string | undefined;
}

/** Parses one member of `keys`; `undefined` means the key is not a JWT authority (skipped). */
function parseJwk(jwk: unknown, index: number): ParsedJwk | undefined {
  if (!isPlainObject(jwk)) {
    throw bundleError(`key ${index} of JWKS is not a JSON object`);
  }
  const { kty, use, kid, alg } = jwk;
  if (typeof kty !== 'string') {
    throw bundleError(`key ${index} of JWKS has no "kty" string`);
  }
  if (use !== undefined && typeof use !== 'string') {
    throw bundleError(`key ${index} of JWKS has a non-string "use"`);
  }
  // Only keys meant for JWT-SVIDs are JWT authorities: `x509-svid` keys are X.509 authorities
  // of a SPIFFE bundle, and other uses and key types are not ours to interpret.
  if (use !== undefined && use !== 'jwt-svid') return undefined;
  if (!PUBLIC_KEY_TYPES.has(kty)) return undefined;
  if (typeof kid !== 'string' || kid === '') {
    throw bundleError(`key ${index} of JWKS has no "kid"; every JWT authority needs a non-empty key ID`);
  }
  if (alg !== undefined && typeof alg !== 'string') {
    throw bundleError(`key "${kid}" (key ${index} of JWKS) has a non-string "alg"`);
  }
  for (const member of PRIVATE_MEMBERS) {
    if (member in jwk) {
      throw bundleError(
        `key "${kid}" (key ${index} of JWKS) contains private key material ("${member}"); a bundle must hold public keys only`,
      );
    }
  }
  const malformed = malformedKeyMember(jwk);
  if (malformed !== undefined) {
    throw bundleError(`key "${kid}" (key ${index} of JWKS): "${malformed}" is not unpadded base64url`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (err) {
    throw bundleError(`key "${kid}" (key ${index} of JWKS) is not a valid ${kty} public key: ${(err as Error).message}`, err);
  }
  return { kid, key, alg };
}
