/**
 * Verifying a TLS peer's X509-SVID and remembering, on the socket, whom it was verified as.
 *
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import type { Authorizer } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import type { SpiffeId } from '../spiffeid/index.js';
import { parseAndVerifyX509Svid, type VerifiedX509Svid } from '../svid/x509/index.js';
import { authorizerRejection, noPeerCertificate, toTlsPeerError } from './peer-error.js';

/** Chains longer than this are cut (verification allows far fewer). */
const MAX_PRESENTED = 32;

/**
 * @internal The DER certificates of a peer, leaf first, rebuilt from Node's
 * `getPeerCertificate(true)` links. Returns `undefined` when the peer presented none.
 *
 * Node appends the issuer it finds in the context's own CA store; the servers and client
 * helpers of this module use an empty store, so what is returned is what the peer presented.
 * (Where a store is used, an appended bundle root cannot widen trust: authorities are never
 * used as intermediates, and only the leaf's own trust domain's bundle anchors.)
 */
export function chainFromPeerCertificate(cert: PeerCertificate | DetailedPeerCertificate | null | undefined): Uint8Array[] | undefined {
  if (cert === null || cert === undefined || !cert.raw || cert.raw.length === 0) return undefined;
  const chain: Uint8Array[] = [];
  const seen = new Set<object>();
  let current: PeerCertificate | undefined = cert;
  while (current !== undefined && current.raw && current.raw.length > 0 && !seen.has(current) && chain.length < MAX_PRESENTED) {
    seen.add(current);
    const raw = current.raw;
    chain.push(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
    const next: PeerCertificate | undefined = (current as DetailedPeerCertificate).issuerCertificate;
    if (next === undefined || next === null || next === current) break;
    current = next;
  }
  return chain;
}

/**
 * The certificates a TLS peer presented, DER, leaf first; `undefined` when it presented none.
 * For code that judges a client certificate itself (a gateway with per-route rules, a
 * diagnostics endpoint) on a server that asked for one without requiring it. Nothing here is
 * verified: pass the chain to {@link parseAndVerifyX509Svid} or check it otherwise.
 *
 * Read it before any call of `socket.getPeerX509Certificate()` on a server socket: on Node 20
 * that call removes the first intermediate from the chain this function reads.
 *
 * @param socket - A TLS socket after its handshake.
 * @example
 * ```ts
 * const chain = peerChainFromSocket(req.socket as TLSSocket);
 * if (chain) console.log(parseAndVerifyX509Svid(chain, bundleSource).id.toString());
 * ```
 */
export function peerChainFromSocket(socket: TLSSocket): Uint8Array[] | undefined {
  if (typeof socket?.getPeerCertificate !== 'function') return undefined;
  return chainFromPeerCertificate(socket.getPeerCertificate(true));
}

/**
 * @internal Verifies a presented chain the SPIFFE way (against the bundle of the leaf's own
 * trust domain) and then runs the authorizer. Every failure is a {@link TlsPeerError}.
 */
export function verifyPeerChain(
  chain: Uint8Array[] | undefined,
  bundleSource: X509BundleSource,
  authorizer: Authorizer,
  peer: 'client' | 'server',
): VerifiedX509Svid {
  return authorizePeer(verifyPeerSvid(chain, bundleSource, peer), authorizer);
}

/**
 * @internal The first half of {@link verifyPeerChain}: the chain against the bundle of the
 * leaf's own trust domain, without the authorizer. Every failure is a {@link TlsPeerError}.
 */
export function verifyPeerSvid(
  chain: Uint8Array[] | undefined,
  bundleSource: X509BundleSource,
  peer: 'client' | 'server',
): VerifiedX509Svid {
  if (chain === undefined || chain.length === 0) throw noPeerCertificate(peer);
  try {
    return parseAndVerifyX509Svid(chain, bundleSource);
  } catch (err) {
    throw toTlsPeerError(err);
  }
}

/** @internal The second half of {@link verifyPeerChain}: the authorizer on a verified SVID. */
export function authorizePeer(verified: VerifiedX509Svid, authorizer: Authorizer): VerifiedX509Svid {
  try {
    authorizer(verified.id, verified.verifiedChains);
  } catch (err) {
    throw authorizerRejection(verified.id.toString(), err);
  }
  return verified;
}

/** @internal The verified peer of a socket, stored under a module-private symbol. */
const VERIFIED_PEER = Symbol('spiffe.verifiedPeer');

interface VerifiedPeer {
  id: SpiffeId;
  verifiedChains: X509Certificate[][];
}

/**
 * @internal Records on `socket` the peer it was verified as, once (the property is neither
 * writable nor configurable), and marks the socket `authorized` (Node sets that from its own
 * chain check, which SPIFFE verification replaces).
 */
export function recordVerifiedPeer(socket: TLSSocket, verified: VerifiedX509Svid): void {
  if (Object.prototype.hasOwnProperty.call(socket, VERIFIED_PEER)) return;
  const peer: VerifiedPeer = Object.freeze({ id: verified.id, verifiedChains: verified.verifiedChains });
  Object.defineProperty(socket, VERIFIED_PEER, { value: peer, enumerable: false, writable: false, configurable: false });
  socket.authorized = true;
  (socket as { authorizationError?: unknown }).authorizationError = null;
}

/** @internal The verified peer of a socket (or of the socket behind an http2 socket proxy). */
export function verifiedPeerOf(socket: unknown): VerifiedPeer | undefined {
  if (socket === null || (typeof socket !== 'object' && typeof socket !== 'function')) return undefined;
  try {
    const peer = (socket as { [VERIFIED_PEER]?: unknown })[VERIFIED_PEER];
    return peer !== null && typeof peer === 'object' ? (peer as VerifiedPeer) : undefined;
  } catch {
    // An http2 proxy whose session has gone throws on any property read.
    return undefined;
  }
}

/**
 * The SPIFFE ID that a TLS peer was authenticated as by this module: the client of a socket
 * accepted by a server from {@link createTlsServer}, {@link createHttpsServer},
 * {@link createHttp2SecureServer}, {@link secureServer} or {@link listen}, or the server of a
 * socket from {@link dial}, {@link createSpiffeHttpsAgent}, {@link undici!createSpiffeDispatcher} or
 * {@link connectHttp2}. It is recorded when verification succeeds, before the socket reaches
 * any listener.
 *
 * Returns `undefined` for any other socket (one this module did not verify, a server that does
 * not authenticate clients, a Web PKI peer), never an unverified ID. Accepts the socket proxies
 * that `http2` hands out (`req.socket`, `stream.session.socket`).
 *
 * @example
 * ```ts
 * import { createHttpsServer, mtlsServerOptions, peerIdFromSocket } from '@spiffe-node/spiffe/tls';
 * const server = createHttpsServer(mtlsServerOptions(source, source, authorizeAny()), (req, res) => {
 *   res.end(`hello ${peerIdFromSocket(req.socket)}`);
 * });
 * ```
 */
export function peerIdFromSocket(socket: unknown): SpiffeId | undefined {
  return verifiedPeerOf(socket)?.id;
}
