/**
 * SPIFFE TLS servers: creating them from {@link SpiffeServerOptions}, the verification gate
 * in front of `'secureConnection'`, and SVID rotation.
 *
 * How a server authenticates a client: Node runs no custom verifier inside the handshake, so
 * the server asks for a client certificate without letting OpenSSL judge it (an empty trust
 * store, `rejectUnauthorized: false`), and its `emit` is wrapped so that a
 * `'secureConnection'` reaches the listeners (`tls`, `https`, `http2`, express, your own) only
 * after the client's X509-SVID verified against the bundle of its own trust domain and the
 * authorizer accepted its ID. A rejected socket is destroyed before any listener sees it and
 * before a byte of application data is read from it; the server then emits
 * `'spiffeRejected'` `(err: TlsPeerError, socket)` and logs nothing itself (see
 * {@link formatTlsHandshakeError}). The client sees its connection closed, not a TLS alert
 * (Node cannot send one after the handshake); a client that sends no certificate is rejected
 * the same way, with code `ERR_TLS_NO_PEER_CERTIFICATE`.
 *
 * Renegotiation (TLS 1.2) is refused: a client could otherwise present another certificate
 * after it was admitted. The contexts carry `SSL_OP_NO_RENEGOTIATION`, and an admitted socket
 * whose client tries is destroyed, with `'spiffeRejected'` and code
 * `ERR_TLS_RENEGOTIATION_REFUSED`.
 *
 * Rotation: a new SVID is installed with `server.setSecureContext()` when the source emits
 * `'update'`, and, for sources without events, when a new connection arrives and
 * `getX509Svid()` returns a different SVID (an identity comparison, cheap). Established
 * connections keep theirs. The client's chain is checked against the bundle source as it is at
 * that handshake, so bundle updates apply at once.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import tls, { type SecureContextOptions, type TLSSocket, type TlsOptions } from 'node:tls';
import type { TlsPeerError } from '../errors.js';
import type { X509Svid } from '../svid/x509/index.js';
import { MIN_TLS_VERSION, svidPem } from './credentials.js';
import { serverCipherOptions, serverSecureOptions } from './server-context-options.js';
import { serverConfigOf, type ServerConfig, type SpiffeServerOptions } from './server-options.js';
import { authorizePeer, recordVerifiedPeer } from './peer.js';
import { toTlsPeerError } from './peer-error.js';
import { refuseClientRenegotiation } from './renegotiation.js';
import { onSourceUpdate } from './sources.js';
import { VerifiedPeerCache } from './verified-peers.js';

const STATE = Symbol('spiffe.serverState');

function sameSvid(a: X509Svid | undefined, b: X509Svid): boolean {
  if (a === undefined) return false;
  if (a === b) return true;
  const ca = a.certificates;
  const cb = b.certificates;
  return ca.length === cb.length && ca.every((cert, i) => cert === cb[i] || cert.fingerprint256 === cb[i]?.fingerprint256);
}

/** @internal The per-server state behind the gate and rotation. */
export class ServerState {
  readonly config: ServerConfig;
  readonly #sessionIdContext = randomBytes(16).toString('hex');
  #svid: X509Svid | undefined;
  #ticketKeys: Buffer | undefined;
  /** Why the source has no SVID now (its last error message), while that lasts. */
  #unavailableReason: string | undefined;
  /** The clients verified so far (see {@link VerifiedPeerCache}). */
  readonly #clients = new VerifiedPeerCache('client');
  #server: tls.Server | undefined;
  #emit: ((event: string | symbol, ...args: unknown[]) => boolean) | undefined;

  constructor(config: ServerConfig) {
    this.config = config;
    // Throws to the caller when there is no SVID yet: a server without an identity cannot start.
    if (config.svidSource !== undefined) this.#svid = config.svidSource.getX509Svid();
    if (config.resumption) this.#ticketKeys = randomBytes(48);
  }

  /** Options for `setSecureContext`: identity, no trust store, tickets per `resumption`. */
  contextOptions(): SecureContextOptions {
    const identity = this.config.mode === 'mtls-web' ? (this.config.webIdentity as SecureContextOptions) : svidPem(this.#svid as X509Svid);
    return {
      ...this.config.tlsOptions,
      ...serverCipherOptions(this.config),
      ...identity,
      ca: [],
      minVersion: this.config.tlsOptions.minVersion ?? MIN_TLS_VERSION,
      secureOptions: serverSecureOptions(this.config),
      sessionIdContext: this.#sessionIdContext,
      ...(this.#ticketKeys === undefined ? {} : { ticketKeys: this.#ticketKeys }),
    };
  }

  /** Options for a server constructor. */
  serverOptions(): TlsOptions {
    return { ...this.contextOptions(), requestCert: this.config.mode !== 'tls', rejectUnauthorized: false };
  }

  /** Installs the gate and rotation on `server`. */
  attach(server: tls.Server): void {
    if (Object.prototype.hasOwnProperty.call(server, STATE)) {
      throw new TypeError('secureServer: this server already carries SPIFFE options');
    }
    Object.defineProperty(server, STATE, { value: this, enumerable: false });
    this.#server = server;
    // The server's own emit, called back with the server as `this` by the wrapper below.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const original = server.emit as (event: string | symbol, ...args: unknown[]) => boolean;
    this.#emit = original;
    // The wrapper's `this` is the server; the gate's state is this object.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const state = this;
    server.emit = function gatedEmit(this: tls.Server, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'connection') {
        // No identity to present (withdrawn by the agent, or expired without renewal): refuse
        // the connection rather than present an SVID the workload no longer holds.
        if (!state.refresh()) {
          (args[0] as { destroy(): void }).destroy();
          return false;
        }
      } else if (event === 'secureConnection') {
        if (!state.admit(args[0] as TLSSocket)) return false;
      }
      return original.call(this, event, ...args);
    } as typeof server.emit;
    if (this.config.svidSource !== undefined) {
      const unsubscribe = onSourceUpdate(this.config.svidSource, () => this.refresh());
      server.once('close', unsubscribe);
    }
  }

  /**
   * Installs the source's current SVID if it changed. Never throws. Returns false when there is
   * no SVID to present: the source has none (the agent withdrew the identity, or the source is
   * closed), or the one in place has expired.
   */
  refresh(): boolean {
    const source = this.config.svidSource;
    const server = this.#server;
    if (source === undefined || server === undefined) return true;
    let svid: X509Svid;
    try {
      svid = source.getX509Svid();
    } catch (err) {
      // Say why, once per cause change; new connections are refused until an SVID is back.
      const reason = err instanceof Error ? err.message : String(err);
      if (reason !== this.#unavailableReason) {
        this.#unavailableReason = reason;
        this.#emit?.call(server, 'spiffeRotationError', err);
      }
      return false;
    }
    this.#unavailableReason = undefined;
    if (svid.expiresAt.getTime() <= Date.now()) return false;
    if (svid === this.#svid) return true;
    if (sameSvid(this.#svid, svid)) {
      this.#svid = svid;
      return true;
    }
    const previous = { svid: this.#svid, ticketKeys: this.#ticketKeys };
    this.#svid = svid;
    if (this.config.resumption) this.#ticketKeys = randomBytes(48);
    try {
      server.setSecureContext(this.contextOptions());
      this.#clients.clear();
    } catch (err) {
      this.#svid = previous.svid;
      this.#ticketKeys = previous.ticketKeys;
      this.#emit?.call(server, 'spiffeRotationError', err);
    }
    return true;
  }

  /**
   * Verifies the client of a new secure connection and arms the renegotiation refusal; false
   * (socket destroyed) to refuse it.
   */
  admit(socket: TLSSocket): boolean {
    const config = this.config;
    if (config.mode !== 'tls') {
      try {
        const verified = authorizePeer(this.#clients.verify(socket, config.bundleSource!), config.authorizer!);
        recordVerifiedPeer(socket, verified);
      } catch (err) {
        this.#reject(socket, toTlsPeerError(err));
        return false;
      }
    }
    refuseClientRenegotiation(socket, (err) => this.#reject(socket, err));
    return true;
  }

  /** Destroys `socket` and emits `'spiffeRejected'`. */
  #reject(socket: TLSSocket, error: TlsPeerError): void {
    // Read the address before destroying, so that the event's listeners can still log it.
    void socket.remoteAddress;
    void socket.remotePort;
    socket.destroy();
    this.#emit?.call(this.#server, 'spiffeRejected', error, socket);
  }
}

/** @internal Makes the state for options handed to a creator. */
export function stateFor(options: SpiffeServerOptions, where: string): ServerState {
  return new ServerState(serverConfigOf(options, where));
}

/**
 * Creates a `tls.Server` that presents the SVID (or Web PKI certificate) of `options`,
 * authenticates clients as `options` say, and rotates its SVID. `connectionListener` (and any
 * `'secureConnection'` listener) only ever receives verified sockets; read the client's ID
 * with {@link peerIdFromSocket}.
 *
 * Events besides those of `tls.Server`: `'spiffeRejected'` `(err: TlsPeerError, socket)` for
 * each client refused (already destroyed), and `'spiffeRotationError'` `(err)` when a new SVID
 * could not be installed (the server keeps the previous one) or the source has none: then the
 * agent withdrew the identity, or it expired, and new connections are refused until an SVID is
 * back (established ones stay up).
 *
 * @param options - From {@link tlsServerOptions}, {@link mtlsServerOptions} or {@link mtlsWebServerOptions}.
 * @param connectionListener - Called with each authenticated socket.
 * @throws `TypeError` for other options; the source's error when it has no SVID yet.
 * @example
 * ```ts
 * import { createTlsServer, mtlsServerOptions, peerIdFromSocket, formatTlsHandshakeError } from '@spiffe-node/spiffe/tls';
 * const server = createTlsServer(mtlsServerOptions(source, source, authorizeId('spiffe://example.org/client')), (socket) => {
 *   socket.once('data', (msg) => { console.log(`${peerIdFromSocket(socket)}: ${msg}`); socket.end('Hello client\n'); });
 * });
 * server.on('spiffeRejected', (err, socket) => console.log(formatTlsHandshakeError(err, socket)));
 * server.listen(55555);
 * ```
 */
export function createTlsServer(options: SpiffeServerOptions, connectionListener?: (socket: TLSSocket) => void): tls.Server {
  const state = stateFor(options, 'createTlsServer');
  const server = tls.createServer(state.serverOptions(), connectionListener);
  state.attach(server);
  return server;
}

/**
 * Applies SPIFFE options to a `tls.Server` made elsewhere (an `https.Server`, an
 * `http2.Http2SecureServer`, or a framework's): installs the SVID or Web PKI identity, the
 * client-certificate request, the verification gate and rotation. Returns the same server.
 *
 * Constructor-only options of the server (ALPN protocols, `SNICallback`, handshake timeout)
 * stay as the server was built; a server with its own `SNICallback` would present other
 * certificates, so do not combine them.
 *
 * @param server - A `tls.Server` or subclass, not yet secured by this module.
 * @param options - From a server options builder.
 * @throws `TypeError` for a non-TLS server, other options or a server secured twice.
 * @example
 * ```ts
 * import https from 'node:https';
 * const server = secureServer(https.createServer(app), mtlsServerOptions(source, source, authorizer));
 * server.listen(8443);
 * ```
 */
export function secureServer<S extends tls.Server>(server: S, options: SpiffeServerOptions): S {
  if (!(server instanceof tls.Server)) {
    throw new TypeError('secureServer: expected a tls.Server (https.Server and http2 secure servers are ones)');
  }
  if (Object.prototype.hasOwnProperty.call(server, STATE)) {
    throw new TypeError('secureServer: this server already carries SPIFFE options');
  }
  const state = stateFor(options, 'secureServer');
  const mutable = server as unknown as { requestCert: boolean; rejectUnauthorized: boolean };
  mutable.requestCert = state.config.mode !== 'tls';
  mutable.rejectUnauthorized = false;
  server.setSecureContext(state.contextOptions());
  state.attach(server);
  return server;
}
