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
import { TrustDomain } from '../spiffeid/index.js';
import type { X509SvidSource } from '../svid/x509/index.js';

/** @internal Throws a TypeError unless `source` can hand out an X509-SVID. */
export function assertSvidSource(source: unknown, where: string): asserts source is X509SvidSource {
  if (source === null || typeof source !== 'object' || typeof (source as X509SvidSource).getX509Svid !== 'function') {
    throw new TypeError(
      `${where}: expected an X509SvidSource (an X509Svid, a file source or an X509Source: an object with getX509Svid())`,
    );
  }
}

/** @internal Throws a TypeError unless `source` can hand out X.509 bundles. */
export function assertBundleSource(source: unknown, where: string): asserts source is X509BundleSource {
  if (
    source === null ||
    typeof source !== 'object' ||
    typeof (source as X509BundleSource).getX509BundleForTrustDomain !== 'function'
  ) {
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

interface BundleLike {
  trustDomain?: unknown;
  getX509BundleForTrustDomain?: unknown;
  bundles?: unknown;
  getX509BundleSet?: unknown;
  getX509Bundles?: unknown;
  getX509Context?: unknown;
}

function asX509Bundle(item: unknown): X509Bundle | undefined {
  if (item instanceof X509Bundle) return item;
  const like = item as BundleLike | null;
  if (
    like !== null &&
    typeof like === 'object' &&
    like.trustDomain instanceof TrustDomain &&
    typeof like.getX509BundleForTrustDomain === 'function'
  ) {
    // A SpiffeBundle (or similar): its live X.509 half, without copying.
    return (like as X509BundleSource).getX509BundleForTrustDomain(like.trustDomain);
  }
  return undefined;
}

/**
 * @internal The X.509 bundles of every trust domain a source holds, or `undefined` when the
 * source cannot list them (a custom source with only `getX509BundleForTrustDomain`).
 *
 * Understood: an X509Bundle or SpiffeBundle (one trust domain), anything with `bundles()`
 * (X509BundleSet, SpiffeBundleSet, the file sources), anything with `getX509BundleSet()` or
 * `getX509Bundles()` returning one of those, and the Workload API X509Source (through
 * `getX509Context().bundles`).
 */
export function listX509Bundles(source: X509BundleSource, depth = 0): X509Bundle[] | undefined {
  const like = source as unknown as BundleLike;
  if (typeof like.bundles === 'function') {
    const items = (like.bundles as () => unknown)();
    if (!Array.isArray(items)) return undefined;
    const out: X509Bundle[] = [];
    for (const item of items) {
      const bundle = asX509Bundle(item);
      if (bundle === undefined) return undefined;
      out.push(bundle);
    }
    return out;
  }
  const single = asX509Bundle(source);
  if (single !== undefined) return [single];
  if (depth >= 2) return undefined;
  for (const accessor of ['getX509BundleSet', 'getX509Bundles'] as const) {
    if (typeof like[accessor] === 'function') {
      const inner = (like[accessor] as () => unknown)();
      if (inner !== null && typeof inner === 'object') return listX509Bundles(inner as X509BundleSource, depth + 1);
    }
  }
  if (typeof like.getX509Context === 'function') {
    // The Workload API X509Source: its current context carries the bundle set.
    const context = (like.getX509Context as () => { bundles?: unknown })();
    const inner = context?.bundles;
    if (inner !== null && typeof inner === 'object') return listX509Bundles(inner as X509BundleSource, depth + 1);
  }
  return undefined;
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
