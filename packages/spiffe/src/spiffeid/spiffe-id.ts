import { MAX_ID_LENGTH, scanId, scanPath, scanSegment, spiffeIdError } from './parse.js';
import { TrustDomain, trustedTrustDomain } from './trust-domain.js';

let construct: (trustDomain: TrustDomain, path: string) => SpiffeId;

/**
 * @internal A SPIFFE ID from parts this package already checked, without checking them again.
 * Not exported by the package: callers outside would skip validation.
 */
export function trustedSpiffeId(trustDomain: TrustDomain, path: string): SpiffeId {
  return construct(trustDomain, path);
}

/**
 * A SPIFFE ID: `spiffe://<trust domain><path>`.
 *
 * Instances are immutable and always valid. The scheme and trust domain are normalised to
 * lowercase (they are case-insensitive); the path keeps its case. Compare with
 * {@link SpiffeId.equals} or by string.
 *
 * @example
 * ```ts
 * import { SpiffeId, TrustDomain } from '@spiffe-node/spiffe';
 * const id = SpiffeId.fromString('spiffe://example.org/ns/prod/sa/web');
 * id.trustDomain.name;  // 'example.org'
 * id.path;              // '/ns/prod/sa/web'
 * id.memberOf(TrustDomain.fromString('example.org')); // true
 * ```
 */
export class SpiffeId {
  /** The trust domain the ID belongs to. */
  readonly trustDomain: TrustDomain;
  /** The path, `''` for the trust domain's own ID, otherwise starting with `/`. */
  readonly path: string;
  readonly #string: string;

  private constructor(trustDomain: TrustDomain, path: string) {
    this.trustDomain = trustDomain;
    this.path = path;
    this.#string = `spiffe://${trustDomain.name}${path}`;
  }

  /**
   * Parses a SPIFFE ID.
   *
   * @throws {@link SpiffeIdError} naming the rule the input broke (`rule`) and the offending
   *   character or segment (message).
   * @example
   * ```ts
   * SpiffeId.fromString('SPIFFE://Example.org/Web').toString(); // 'spiffe://example.org/Web'
   * ```
   */
  static fromString(id: string): SpiffeId {
    if (typeof id !== 'string') {
      throw new TypeError(`SpiffeId.fromString: expected a string, got ${typeof id}`);
    }
    const { trustDomain, path } = scanId(id);
    return new SpiffeId(trustedTrustDomain(trustDomain), path);
  }

  /**
   * Builds a SPIFFE ID from a trust domain and a path (`''` or `/seg/...`).
   *
   * @throws {@link SpiffeIdError} if the path breaks a rule.
   * @example
   * ```ts
   * SpiffeId.fromPath(TrustDomain.fromString('example.org'), '/web').toString();
   * // 'spiffe://example.org/web'
   * ```
   */
  static fromPath(trustDomain: TrustDomain, path: string): SpiffeId {
    assertTrustDomain(trustDomain, 'SpiffeId.fromPath');
    if (typeof path !== 'string') {
      throw new TypeError(`SpiffeId.fromPath: expected the path as a string, got ${typeof path}`);
    }
    scanPath(path);
    return SpiffeId.checkedLength(new SpiffeId(trustDomain, path));
  }

  /**
   * Builds a SPIFFE ID from a trust domain and path segments, each without slashes.
   *
   * @throws {@link SpiffeIdError} if a segment breaks a rule.
   * @example
   * ```ts
   * SpiffeId.fromSegments(TrustDomain.fromString('example.org'), 'ns', 'prod').toString();
   * // 'spiffe://example.org/ns/prod'
   * ```
   */
  static fromSegments(trustDomain: TrustDomain, ...segments: string[]): SpiffeId {
    assertTrustDomain(trustDomain, 'SpiffeId.fromSegments');
    for (const segment of segments) {
      if (typeof segment !== 'string') {
        throw new TypeError(`SpiffeId.fromSegments: expected string segments, got ${typeof segment}`);
      }
      scanSegment(segment);
    }
    const path = segments.length === 0 ? '' : `/${segments.join('/')}`;
    return SpiffeId.checkedLength(new SpiffeId(trustDomain, path));
  }

  static {
    construct = (trustDomain, path) => new SpiffeId(trustDomain, path);
  }

  private static checkedLength(id: SpiffeId): SpiffeId {
    const s = id.#string;
    if (s.length > MAX_ID_LENGTH && Buffer.byteLength(s) > MAX_ID_LENGTH) {
      throw spiffeIdError('too-long', `SPIFFE ID is ${Buffer.byteLength(s)} bytes long; at most ${MAX_ID_LENGTH} are allowed`);
    }
    return id;
  }

  /**
   * Whether the ID belongs to the trust domain `td`.
   *
   * @example
   * ```ts
   * SpiffeId.fromString('spiffe://example.org/web').memberOf(TrustDomain.fromString('example.org')); // true
   * ```
   */
  memberOf(td: TrustDomain): boolean {
    return this.trustDomain.name === td.name;
  }

  /**
   * Whether `other` is the same SPIFFE ID.
   *
   * @example
   * ```ts
   * SpiffeId.fromString('spiffe://A.org/x').equals(SpiffeId.fromString('spiffe://a.org/x')); // true
   * ```
   */
  equals(other: SpiffeId): boolean {
    return other instanceof SpiffeId && other.#string === this.#string;
  }

  /**
   * The ID as `spiffe://<trust domain><path>`.
   *
   * @example
   * ```ts
   * String(SpiffeId.fromString('spiffe://example.org/web')); // 'spiffe://example.org/web'
   * ```
   */
  toString(): string {
    return this.#string;
  }

  /** The ID as a string, for `JSON.stringify`. */
  toJSON(): string {
    return this.#string;
  }
}

function assertTrustDomain(td: unknown, where: string): asserts td is TrustDomain {
  if (!(td instanceof TrustDomain)) {
    throw new TypeError(`${where}: expected a TrustDomain as the first argument`);
  }
}
