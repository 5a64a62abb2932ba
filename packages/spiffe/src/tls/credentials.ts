/**
 * Internal caches of TLS credentials: the PEM form of an X509-SVID, and node:tls secure
 * contexts, built once per SVID (and trust store) rather than once per connection.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import { constants, type X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { X509Svid } from '../svid/x509/index.js';
import { NO_RENEGOTIATION } from './renegotiation.js';

/** The lowest TLS version any helper of this module negotiates. */
export const MIN_TLS_VERSION = 'TLSv1.2' as const;

const pemCache = new WeakMap<X509Svid, { cert: string; key: string }>();

/** @internal The certificate chain and key of an SVID as PEM, computed once per SVID. */
export function svidPem(svid: X509Svid): { cert: string; key: string } {
  let pem = pemCache.get(svid);
  if (pem === undefined) {
    const marshalled = svid.marshal();
    pem = { cert: marshalled.certificates, key: marshalled.privateKey };
    pemCache.set(svid, pem);
  }
  return pem;
}

const emptyStoreContexts = new WeakMap<X509Svid, SecureContext>();
let anonymousContext: SecureContext | undefined;

/**
 * @internal `secureOptions` of the helpers' client contexts: no renegotiation (a server could
 * swap its certificate after it was verified) and no TLS 1.2 session tickets (the helpers
 * never resume a session).
 */
const HELPER_CLIENT_OPTIONS = NO_RENEGOTIATION | constants.SSL_OP_NO_TICKET;

/**
 * @internal A client context that presents `svid` (or nothing) and trusts no CA at all: the
 * helpers verify the server themselves, so OpenSSL's own check must not consult the system
 * store (and the peer chain Node reports stays the presented one). It refuses renegotiation
 * and asks for no session tickets.
 */
export function verifyingClientContext(svid: X509Svid | undefined): SecureContext {
  if (svid === undefined) {
    anonymousContext ??= createSecureContext({ ca: [], minVersion: MIN_TLS_VERSION, secureOptions: HELPER_CLIENT_OPTIONS });
    return anonymousContext;
  }
  let context = emptyStoreContexts.get(svid);
  if (context === undefined) {
    const { cert, key } = svidPem(svid);
    context = createSecureContext({ cert, key, ca: [], minVersion: MIN_TLS_VERSION, secureOptions: HELPER_CLIENT_OPTIONS });
    emptyStoreContexts.set(svid, context);
  }
  return context;
}

/**
 * @internal Remembers the last context built from a key (compared element by element, by
 * identity) and builds a new one only when the key changes.
 */
export class ContextMemo<K extends readonly unknown[], V> {
  #key: K | undefined;
  #value: V | undefined;

  get(key: K, build: () => V): V {
    const last = this.#key;
    if (last !== undefined && last.length === key.length && last.every((v, i) => v === key[i])) {
      return this.#value as V;
    }
    const value = build();
    this.#key = key;
    this.#value = value;
    return value;
  }
}

/** @internal PEM strings of CA certificates, cached per certificate object. */
const caPemCache = new WeakMap<X509Certificate, string>();

/** @internal The PEM of CA certificates (for a context's `ca`). */
export function caPems(certs: readonly X509Certificate[]): string[] {
  return certs.map((cert) => {
    let pem = caPemCache.get(cert);
    if (pem === undefined) {
      pem = cert.toString();
      caPemCache.set(cert, pem);
    }
    return pem;
  });
}

/** @internal Builds a context, allowing trust anchors that are not self-signed. */
export function contextWithAnchors(options: SecureContextOptions): SecureContext {
  return createSecureContext({ ...options, allowPartialTrustChain: true });
}
