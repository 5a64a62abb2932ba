import { X509Certificate } from 'node:crypto';
import { BundleError } from '../errors.js';
import { TrustDomain } from '../spiffeid/index.js';
import { certificateKey, parseDerCertificates, parsePemCertificates } from './certificates.js';
import { encodePem } from './pem.js';
import type { X509BundleSource } from './source.js';

function invalid(td: TrustDomain, message: string, cause?: unknown): BundleError {
  return new BundleError(
    'ERR_BUNDLE_INVALID',
    `x509bundle: bundle of "${td.name}": ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** @internal Throws a TypeError unless `td` is a TrustDomain. */
export function assertTrustDomain(td: unknown, where: string): asserts td is TrustDomain {
  if (!(td instanceof TrustDomain)) {
    throw new TypeError(`${where}: expected a TrustDomain, got ${td === null ? 'null' : typeof td}`);
  }
}

function assertCertificate(cert: unknown, where: string): asserts cert is X509Certificate {
  if (!(cert instanceof X509Certificate)) {
    throw new TypeError(`${where}: expected a node:crypto X509Certificate`);
  }
}

/**
 * The X.509 trust bundle of one trust domain: the CA certificates (X.509 authorities) that
 * X509-SVIDs of that trust domain must chain to. Every certificate in it is a trust anchor,
 * whether self-signed or not. A bundle with no authorities trusts nothing.
 *
 * A bundle is also an {@link X509BundleSource} that answers for its own trust domain only.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { X509Bundle, TrustDomain } from '@spiffe-node/spiffe';
 * const td = TrustDomain.fromString('example.org');
 * const bundle = X509Bundle.parse(td, readFileSync('bundle.pem'));
 * bundle.authorities().length; // number of CA certificates
 * ```
 */
export class X509Bundle implements X509BundleSource {
  /** The trust domain the bundle belongs to. */
  readonly trustDomain: TrustDomain;
  /** Authorities keyed by the SHA-256 of their DER, in insertion order. */
  readonly #authorities: Map<string, X509Certificate>;

  private constructor(trustDomain: TrustDomain, authorities: Map<string, X509Certificate>) {
    this.trustDomain = trustDomain;
    this.#authorities = authorities;
  }

  /**
   * Builds a bundle from CA certificates (duplicates are kept once). An empty list gives a
   * bundle that trusts nothing.
   *
   * @example
   * ```ts
   * const bundle = X509Bundle.fromAuthorities(td, [new X509Certificate(caPem)]);
   * ```
   */
  static fromAuthorities(trustDomain: TrustDomain, authorities: readonly X509Certificate[]): X509Bundle {
    assertTrustDomain(trustDomain, 'X509Bundle.fromAuthorities');
    if (!Array.isArray(authorities)) {
      throw new TypeError('X509Bundle.fromAuthorities: expected an array of X509Certificate');
    }
    const map = new Map<string, X509Certificate>();
    for (const cert of authorities) {
      assertCertificate(cert, 'X509Bundle.fromAuthorities');
      map.set(certificateKey(cert), cert);
    }
    return new X509Bundle(trustDomain, map);
  }

  /**
   * Parses PEM `CERTIFICATE` blocks (text between blocks is ignored).
   *
   * @throws {@link BundleError} `ERR_BUNDLE_INVALID` for empty input, input without a PEM
   *   block, a block of another type (such as a private key) or a certificate that cannot be
   *   parsed.
   * @example
   * ```ts
   * const bundle = X509Bundle.parse(TrustDomain.fromString('example.org'), pemText);
   * ```
   */
  static parse(trustDomain: TrustDomain, pem: string | Uint8Array): X509Bundle {
    assertTrustDomain(trustDomain, 'X509Bundle.parse');
    const certs = parsePemCertificates(pem, (message, cause) => invalid(trustDomain, message, cause));
    return X509Bundle.fromAuthorities(trustDomain, certs);
  }

  /**
   * Parses DER certificates concatenated back to back (the Workload API's `bundle` field).
   *
   * @throws {@link BundleError} `ERR_BUNDLE_INVALID` for empty or malformed input.
   * @example
   * ```ts
   * const bundle = X509Bundle.parseRaw(td, response.svids[0].bundle);
   * ```
   */
  static parseRaw(trustDomain: TrustDomain, der: Uint8Array): X509Bundle {
    assertTrustDomain(trustDomain, 'X509Bundle.parseRaw');
    if (!(der instanceof Uint8Array)) {
      throw new TypeError('X509Bundle.parseRaw: expected the DER bytes as a Uint8Array');
    }
    if (der.length === 0) {
      throw invalid(trustDomain, 'no certificates (the DER input is empty)');
    }
    const certs = parseDerCertificates(der, (message, cause) => invalid(trustDomain, message, cause));
    return X509Bundle.fromAuthorities(trustDomain, certs);
  }

  /**
   * The X.509 authorities (CA certificates), in the order they were added. The array is a copy.
   *
   * @example
   * ```ts
   * for (const ca of bundle.authorities()) console.log(ca.subject);
   * ```
   */
  authorities(): X509Certificate[] {
    return [...this.#authorities.values()];
  }

  /**
   * The number of authorities.
   *
   * @example
   * ```ts
   * if (bundle.size === 0) console.warn('the bundle trusts nothing');
   * ```
   */
  get size(): number {
    return this.#authorities.size;
  }

  /**
   * Adds a CA certificate (no effect if it is already there).
   *
   * @example
   * ```ts
   * bundle.addAuthority(new X509Certificate(newCaPem));
   * ```
   */
  addAuthority(cert: X509Certificate): void {
    assertCertificate(cert, 'X509Bundle.addAuthority');
    this.#authorities.set(certificateKey(cert), cert);
  }

  /**
   * Removes a CA certificate (compared by DER bytes). Returns whether it was there.
   *
   * @example
   * ```ts
   * bundle.removeAuthority(retiredCa);
   * ```
   */
  removeAuthority(cert: X509Certificate): boolean {
    assertCertificate(cert, 'X509Bundle.removeAuthority');
    return this.#authorities.delete(certificateKey(cert));
  }

  /**
   * Whether the bundle holds this CA certificate (compared by DER bytes).
   *
   * @example
   * ```ts
   * bundle.hasAuthority(caCert); // true
   * ```
   */
  hasAuthority(cert: X509Certificate): boolean {
    assertCertificate(cert, 'X509Bundle.hasAuthority');
    return this.#authorities.has(certificateKey(cert));
  }

  /**
   * Whether `other` is a bundle of the same trust domain with the same set of authorities
   * (order does not matter).
   *
   * @example
   * ```ts
   * X509Bundle.parse(td, pem).equals(X509Bundle.parse(td, pem)); // true
   * ```
   */
  equals(other: X509Bundle): boolean {
    if (!(other instanceof X509Bundle) || !other.trustDomain.equals(this.trustDomain)) return false;
    if (other.#authorities.size !== this.#authorities.size) return false;
    for (const key of this.#authorities.keys()) {
      if (!other.#authorities.has(key)) return false;
    }
    return true;
  }

  /**
   * An independent copy (adding to or removing from one does not change the other).
   *
   * @example
   * ```ts
   * const snapshot = bundle.clone();
   * ```
   */
  clone(): X509Bundle {
    return new X509Bundle(this.trustDomain, new Map(this.#authorities));
  }

  /**
   * The authorities as concatenated PEM `CERTIFICATE` blocks ('' for an empty bundle).
   *
   * @example
   * ```ts
   * writeFileSync('bundle.pem', bundle.marshal());
   * ```
   */
  marshal(): string {
    let out = '';
    for (const cert of this.#authorities.values()) out += encodePem('CERTIFICATE', cert.raw);
    return out;
  }

  /**
   * This bundle, as the one bundle of this source (see {@link X509BundleSource.x509Bundles}).
   *
   * @example
   * ```ts
   * bundle.x509Bundles()[0] === bundle; // true
   * ```
   */
  x509Bundles(): X509Bundle[] {
    return [this];
  }

  /**
   * Returns this bundle if `trustDomain` is its trust domain.
   *
   * @throws {@link BundleError} `ERR_BUNDLE_NOT_FOUND` for any other trust domain.
   * @example
   * ```ts
   * bundle.getX509BundleForTrustDomain(TrustDomain.fromString('example.org')) === bundle; // true
   * ```
   */
  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle {
    assertTrustDomain(trustDomain, 'X509Bundle.getX509BundleForTrustDomain');
    if (!trustDomain.equals(this.trustDomain)) {
      throw new BundleError(
        'ERR_BUNDLE_NOT_FOUND',
        `x509bundle: no X.509 bundle for trust domain "${trustDomain.name}"; this bundle is for "${this.trustDomain.name}"`,
      );
    }
    return this;
  }
}
