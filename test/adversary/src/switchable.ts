/**
 * A bundle source and an authorizer that a test can change while the defending side runs: the
 * resumption attacks need "the bundle changed" and "the authorizer changed".
 */
import type { Authorizer, TrustDomain, X509Bundle, X509BundleSet, X509BundleSource } from '@spiffe-node/spiffe';
import { authorizeId, authorizeMatch } from '@spiffe-node/spiffe';

export class SwitchableBundles implements X509BundleSource {
  #current: X509BundleSet;

  constructor(initial: X509BundleSet) {
    this.#current = initial;
  }

  set(next: X509BundleSet): void {
    this.#current = next;
  }

  getX509BundleForTrustDomain(trustDomain: TrustDomain): X509Bundle {
    return this.#current.getX509BundleForTrustDomain(trustDomain);
  }

  /** Lets the TLS layer list every trust domain's CAs (as for an X509BundleSet). */
  bundles(): X509Bundle[] {
    return this.#current.bundles();
  }
}

/** An authorizer that accepts `id` until {@link SwitchableAuthorizer.refuseAll}. */
export class SwitchableAuthorizer {
  #current: Authorizer;

  constructor(id: string) {
    this.#current = authorizeId(id);
  }

  refuseAll(): void {
    this.#current = authorizeMatch(() => false);
  }

  readonly authorizer: Authorizer = (id, chains) => this.#current(id, chains);
}
