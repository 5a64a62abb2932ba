/**
 * Internal helpers over the source interfaces: argument checks, listing the X.509 bundles a
 * bundle source holds, and subscribing to a source's `update` events when it has them.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import type { Authorizer } from '../authorize/index.js';
import { X509Bundle } from '../bundle/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import type { X509SvidSource } from '../svid/x509/index.js';

/** @internal Throws a TypeError unless `source` can hand out an X509-SVID. */
export function assertSvidSource(source: unknown, where: string): asserts source is X509SvidSource {
  if (source === null || typeof source !== 'object' || typeof (source as X509SvidSource).getX509Svid !== 'function') {
    throw new TypeError(`${where}: expected an X509SvidSource (an X509Svid, a file source or an X509Source: an object with getX509Svid())`);
  }
}

/** @internal Throws a TypeError unless `source` can hand out X.509 bundles. */
export function assertBundleSource(source: unknown, where: string): asserts source is X509BundleSource {
  if (source === null || typeof source !== 'object' || typeof (source as X509BundleSource).getX509BundleForTrustDomain !== 'function') {
    throw new TypeError(
      `${where}: expected an X509BundleSource (an X509Bundle, X509BundleSet, SpiffeBundleSet or X509Source: an object with getX509BundleForTrustDomain())`,
    );
  }
}

/**
 * @internal Throws a TypeError unless `authorizer` is a function. Every place that
 * authenticates a peer needs one: there is no default, so that "any ID" is a written choice.
 */
export function assertAuthorizer(authorizer: unknown, where: string): asserts authorizer is Authorizer {
  if (typeof authorizer !== 'function') {
    throw new TypeError(
      `${where}: an authorizer is required to authenticate the peer (for example authorizeId('spiffe://example.org/server'), or authorizeAny() to accept every ID the trust bundles vouch for)`,
    );
  }
}

/**
 * @internal The X.509 bundles of every trust domain a source holds, from its
 * {@link X509BundleSource.x509Bundles}, or `undefined` when the source has no such method (a
 * custom source with only `getX509BundleForTrustDomain`).
 *
 * @throws `TypeError` when `x509Bundles()` returns something other than an array of X509Bundle.
 */
function listX509Bundles(source: X509BundleSource): X509Bundle[] | undefined {
  if (typeof source.x509Bundles !== 'function') return undefined;
  const bundles: unknown = source.x509Bundles();
  if (!Array.isArray(bundles) || !bundles.every((bundle) => bundle instanceof X509Bundle)) {
    throw new TypeError("tls: the bundle source's x509Bundles() must return an array of X509Bundle");
  }
  return bundles;
}

/**
 * @internal The CA certificates of every trust domain of `source`, deduplicated by identity,
 * or `undefined` when the source cannot list its bundles.
 */
export function unionOfAuthorities(source: X509BundleSource): X509Certificate[] | undefined {
  const bundles = listX509Bundles(source);
  if (bundles === undefined) return undefined;
  const seen = new Set<X509Certificate>();
  for (const bundle of bundles) for (const cert of bundle.authorities()) seen.add(cert);
  return [...seen];
}

interface Emitterish {
  on?: unknown;
  off?: unknown;
  removeListener?: unknown;
}

/**
 * @internal Calls `listener` on each `update` event of `source`, when the source is an event
 * emitter (the Workload API and file sources are). Returns the function that unsubscribes (a
 * no-op for sources without events).
 */
export function onSourceUpdate(source: object, listener: () => void): () => void {
  const emitter = source as Emitterish;
  if (typeof emitter.on !== 'function') return () => {};
  const off = typeof emitter.off === 'function' ? emitter.off : emitter.removeListener;
  if (typeof off !== 'function') return () => {};
  (emitter.on as (event: string, fn: () => void) => unknown).call(source, 'update', listener);
  return () => {
    (off as (event: string, fn: () => void) => unknown).call(source, 'update', listener);
  };
}
