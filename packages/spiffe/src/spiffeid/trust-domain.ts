import { scanId, scanTrustDomain } from './parse.js';
import { type SpiffeId, trustedSpiffeId } from './spiffe-id.js';

let construct: (name: string) => TrustDomain;

/**
 * @internal A trust domain from a name this package already checked and lowercased, without
 * checking it again. Not exported by the package: callers outside would skip validation.
 */
export function trustedTrustDomain(name: string): TrustDomain {
  return construct(name);
}

/**
 * A SPIFFE trust domain: the authority part of a SPIFFE ID, such as `example.org`.
 *
 * Instances are immutable and always valid; the name is stored in lowercase (trust domains are
 * case-insensitive). Compare with {@link TrustDomain.equals}, or by {@link TrustDomain.name}.
 *
 * @example
 * ```ts
 * import { TrustDomain } from '@spiffe-node/spiffe';
 * const td = TrustDomain.fromString('example.org');
 * td.name;          // 'example.org'
 * td.idString();    // 'spiffe://example.org'
 * TrustDomain.fromString('spiffe://Example.ORG').equals(td); // true
 * ```
 */
export class TrustDomain {
  /** The trust domain name, lowercase, e.g. `example.org`. */
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /**
   * Parses a trust domain from its name (`example.org`) or from a SPIFFE ID
   * (`spiffe://example.org` or `spiffe://example.org/some/path`, whose trust domain is taken).
   *
   * @throws {@link SpiffeIdError} naming the broken rule.
   * @example
   * ```ts
   * TrustDomain.fromString('example.org').name; // 'example.org'
   * ```
   */
  static fromString(nameOrId: string): TrustDomain {
    if (typeof nameOrId !== 'string') {
      throw new TypeError(`TrustDomain.fromString: expected a string, got ${typeof nameOrId}`);
    }
    if (nameOrId.includes(':/')) {
      return new TrustDomain(scanId(nameOrId).trustDomain);
    }
    return new TrustDomain(scanTrustDomain(nameOrId, 'name'));
  }

  static {
    construct = (name) => new TrustDomain(name);
  }

  /**
   * The SPIFFE ID of the trust domain itself (`spiffe://example.org`, empty path).
   *
   * @example
   * ```ts
   * TrustDomain.fromString('example.org').id().toString(); // 'spiffe://example.org'
   * ```
   */
  id(): SpiffeId {
    return trustedSpiffeId(this, '');
  }

  /**
   * The trust domain as a SPIFFE ID string, `spiffe://<name>`: the key used for trust domains
   * in Workload API bundle maps.
   *
   * @example
   * ```ts
   * TrustDomain.fromString('example.org').idString(); // 'spiffe://example.org'
   * ```
   */
  idString(): string {
    return `spiffe://${this.name}`;
  }

  /**
   * Whether `other` is the same trust domain.
   *
   * @example
   * ```ts
   * TrustDomain.fromString('a.org').equals(TrustDomain.fromString('A.ORG')); // true
   * ```
   */
  equals(other: TrustDomain): boolean {
    return other instanceof TrustDomain && other.name === this.name;
  }

  /**
   * The trust domain name.
   *
   * @example
   * ```ts
   * String(TrustDomain.fromString('example.org')); // 'example.org'
   * ```
   */
  toString(): string {
    return this.name;
  }

  /** The trust domain name, for `JSON.stringify`. */
  toJSON(): string {
    return this.name;
  }
}
