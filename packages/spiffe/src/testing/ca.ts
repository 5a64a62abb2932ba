/**
 * The test certificate authority of `@spiffe-node/test-kit`, bound to this library's types for
 * the library's own tests: `trustDomain` is a {@link TrustDomain} (a string is parsed by
 * `TrustDomain.fromString`), and `bundle()` gives an {@link X509Bundle} of the CA's root. Every
 * other helper of the kit is re-exported as is. Test-only: not part of the build.
 *
 * @example
 * ```ts
 * const ca = TestCa.create({ trustDomain: 'example.org' });
 * parseAndVerifyX509Svid(ca.intermediate().svid('/server').chainDer, ca.bundle());
 * ```
 *
 * @internal
 */
import { TestCa as KitTestCa, type CaOptions, type TestTrustDomain } from '@spiffe-node/test-kit';
import { TrustDomain } from '../spiffeid/index.js';
import { X509Bundle } from '../bundle/x509-bundle.js';

export * from '@spiffe-node/test-kit';

/** A test CA whose trust domain is this library's {@link TrustDomain}. */
export class TestCa extends KitTestCa {
  declare readonly trustDomain: TrustDomain;
  declare readonly parent: TestCa | undefined;

  protected static override trustDomainFrom(value: string | TestTrustDomain): TrustDomain {
    return value instanceof TrustDomain ? value : TrustDomain.fromString(typeof value === 'string' ? value : value.name);
  }

  /** An X509Bundle holding this CA's root, for this CA's trust domain. */
  bundle(): X509Bundle {
    return X509Bundle.fromAuthorities(this.trustDomain, [this.root.certificate]);
  }
}

/** Mints a root test CA, asynchronously; {@link TestCa.create} does the same synchronously. */
export async function createTestCa(options: CaOptions & { trustDomain: string | TrustDomain }): Promise<TestCa> {
  return TestCa.create(options);
}
