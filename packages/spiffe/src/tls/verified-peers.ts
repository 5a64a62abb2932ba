/**
 * Verifying a TLS peer's X509-SVID once per leaf: the servers' client check and the client
 * helpers' server check.
 *
 * Reading a peer's chain from Node (`getPeerCertificate(true)`) copies and decodes every
 * certificate of it, about a tenth of a whole handshake, and verifying it costs as much again.
 * A peer that presents the same leaf again (every connection of a workload until its SVID
 * rotates) is recognised by the leaf's DER alone, read from the TLS session (see
 * {@link peerLeafFromSession}), and accepted with its earlier result while that result still
 * holds: the bundle source returns the same bundle object for the leaf's trust domain, with the
 * same authorities, and the time is inside the validity of every certificate involved. The
 * handshake itself proved that the peer holds the leaf's key. Otherwise the leaf is verified
 * again in full with the intermediates it verified with, and if that fails, with the chain it
 * presents now. The caller runs the authorizer on every connection.
 *
 * @module
 * Not part of the public API: no entry point exports this module.
 */
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { X509Bundle, X509BundleSource } from '../bundle/index.js';
import { certInfo, certInfoFromDer } from '../svid/x509/cert-info.js';
import type { VerifiedX509Svid } from '../svid/x509/index.js';
import { chainFromPeerCertificate, verifyPeerSvid } from './peer.js';
import { peerLeafFromSession } from './session-peer.js';

/** Leaves remembered per cache; the oldest is forgotten first. */
const MAX_REMEMBERED_LEAVES = 1024;

/** A leaf that verified, how, and until when that holds. */
interface RememberedLeaf {
  leaf: Buffer;
  intermediates: Uint8Array[];
  verified: VerifiedX509Svid;
  bundle: X509Bundle;
  authorities: X509Certificate[];
  /** Latest notBefore and earliest notAfter (ms) of the presented certificates and the chains. */
  validFrom: number;
  validUntil: number;
}

/** @internal The verifications of one server's clients, or of the servers one bundle source vouches for. */
export class VerifiedPeerCache {
  readonly #peer: 'client' | 'server';
  /** Leaf DER (as a latin1 string) → how it verified. */
  readonly #remembered = new Map<string, RememberedLeaf>();

  /** @param peer - Who is verified, for the error messages: a server's `'client'`, a client's `'server'`. */
  constructor(peer: 'client' | 'server') {
    this.#peer = peer;
  }

  /** Forgets every verification. */
  clear(): void {
    this.#remembered.clear();
  }

  /**
   * Verifies the X509-SVID of the peer of `socket`, after its handshake, against the bundle
   * source as it is now (see the module notes). Every failure is a `TlsPeerError`.
   */
  verify(socket: TLSSocket, bundleSource: X509BundleSource): VerifiedX509Svid {
    const leaf = peerLeafFromSession(socket);
    const key = leaf === undefined ? undefined : leaf.toString('latin1');
    const known = key === undefined ? undefined : this.#remembered.get(key);
    if (known !== undefined && key !== undefined) {
      if (stillHolds(known, bundleSource)) return known.verified;
      try {
        const verified = verifyPeerSvid([known.leaf, ...known.intermediates], bundleSource, this.#peer);
        this.#remember(key, known.leaf, known.intermediates, verified, bundleSource);
        return verified;
      } catch {
        this.#remembered.delete(key);
      }
    }
    // A resumed session may carry the peer's leaf alone (Node then reports no certificate):
    // verify that leaf, which fails closed when the chain needs an intermediate.
    const chain = chainFromPeerCertificate(socket.getPeerCertificate(true)) ?? (leaf === undefined ? undefined : [leaf]);
    const verified = verifyPeerSvid(chain, bundleSource, this.#peer);
    // Remember it only when the session's leaf is the leaf that was just verified.
    if (key !== undefined && leaf !== undefined && chain !== undefined && leaf.equals(chain[0] as Uint8Array)) {
      this.#remember(key, leaf, chain.slice(1), verified, bundleSource);
    }
    return verified;
  }

  #remember(key: string, leaf: Buffer, intermediates: Uint8Array[], verified: VerifiedX509Svid, bundleSource: X509BundleSource): void {
    this.#remembered.delete(key);
    let bundle: X509Bundle;
    try {
      bundle = bundleSource.getX509BundleForTrustDomain(verified.id.trustDomain);
    } catch {
      return;
    }
    const result: VerifiedX509Svid = Object.freeze({
      id: verified.id,
      verifiedChains: Object.freeze(verified.verifiedChains.map((c) => Object.freeze([...c]))) as X509Certificate[][],
    });
    let validFrom = -Infinity;
    let validUntil = Infinity;
    try {
      for (const der of [leaf, ...intermediates]) {
        const info = certInfoFromDer(der);
        validFrom = Math.max(validFrom, info.notBefore);
        validUntil = Math.min(validUntil, info.notAfter);
      }
      for (const cert of result.verifiedChains.flat()) {
        const info = certInfo(cert);
        validFrom = Math.max(validFrom, info.notBefore);
        validUntil = Math.min(validUntil, info.notAfter);
      }
    } catch {
      return;
    }
    this.#remembered.set(key, { leaf, intermediates, verified: result, bundle, authorities: bundle.authorities(), validFrom, validUntil });
    if (this.#remembered.size > MAX_REMEMBERED_LEAVES) {
      const oldest = this.#remembered.keys().next().value;
      if (oldest !== undefined) this.#remembered.delete(oldest);
    }
  }
}

/** Whether a remembered verification still holds: same time window, same bundle, same authorities. */
function stillHolds(known: RememberedLeaf, bundleSource: X509BundleSource): boolean {
  const now = Date.now();
  if (now < known.validFrom || now > known.validUntil) return false;
  let bundle: X509Bundle;
  try {
    bundle = bundleSource.getX509BundleForTrustDomain(known.verified.id.trustDomain);
  } catch {
    return false;
  }
  if (bundle !== known.bundle) return false;
  const authorities = bundle.authorities();
  return authorities.length === known.authorities.length && authorities.every((a, i) => a === known.authorities[i]);
}

/** The clients' caches, one per bundle source: a remembered result depends on nothing else. */
const serverVerifications = new WeakMap<X509BundleSource, VerifiedPeerCache>();

/**
 * @internal The cache a client uses to verify servers against `bundleSource`, shared by every
 * connection (of `dial`, the https agent, the undici dispatcher, http2 and gRPC) that uses the
 * same source object.
 */
export function serverVerificationsFor(bundleSource: X509BundleSource): VerifiedPeerCache {
  let cache = serverVerifications.get(bundleSource);
  if (cache === undefined) {
    cache = new VerifiedPeerCache('server');
    serverVerifications.set(bundleSource, cache);
  }
  return cache;
}
