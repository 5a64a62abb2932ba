/**
 * gRPC (`@grpc/grpc-js`) with SPIFFE: channel credentials for clients, server credentials
 * for servers, and the client's ID inside a call.
 *
 * Client side: the credentials open each connection themselves, authenticate the server's
 * X509-SVID (bundle of its own trust domain, then the authorizer) and only then hand the
 * socket to gRPC; each new connection presents the SVID current at that moment.
 *
 * Server side: grpc-js builds its HTTP/2 server itself and offers no hook between the TLS
 * handshake and the first call, so authentication has two stages. At the TLS layer, OpenSSL
 * requires a client certificate that chains to a CA of some trust bundle (the union of the
 * bundles; clients without a certificate get a TLS alert, unknown chains are dropped). Then a
 * server interceptor, installed by the credentials, verifies the client's SVID the SPIFFE way
 * (against the bundle of the client's own trust domain) and runs the authorizer **at the start
 * of every call, before the handler runs**; a refused call ends with status `UNAUTHENTICATED`
 * and details `tls: unexpected ID "..."`; the handler never sees it. Limits of that stage:
 * grpc-js hands the interceptor only the client's leaf certificate, so client SVIDs must be
 * signed directly by a CA of their trust domain's bundle (SPIRE's default; a chain with
 * intermediate CAs is refused with `UNAUTHENTICATED`), bundle CAs must be self-signed (OpenSSL
 * on the server side takes no partial chains), and the source must list its bundles. For
 * those cases serve gRPC behind {@link createHttp2SecureServer}-style verification instead.
 *
 * `@grpc/grpc-js` is an optional peer dependency, loaded when one of the credentials functions
 * is first called (the application's own copy, so that its classes are the ones gRPC checks).
 *
 * @module
 */
import { constants, type X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import type { SecureContextOptions, PeerCertificate } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import type { Authorizer } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import type { SpiffeId } from '../spiffeid/index.js';
import type { X509Svid, X509SvidSource } from '../svid/x509/index.js';
import { clientConfigFrom, connectVerified, type ClientConfig, type SpiffeClientParams } from './connect.js';
import { caPems, MIN_TLS_VERSION, svidPem } from './credentials.js';
import { chainFromPeerCertificate, verifyPeerChain } from './peer.js';
import { loadOptionalPeer } from './optional-peer.js';
import { toTlsPeerError } from './peer-error.js';
import { assertAuthorizer, assertBundleSource, assertSvidSource, onSourceUpdate, unionOfAuthorities } from './sources.js';

type SecureConnector = ReturnType<grpc.ChannelCredentials['_createSecureConnector']>;
type ChannelTarget = Parameters<grpc.ChannelCredentials['_createSecureConnector']>[0];

function hostOf(target: ChannelTarget): string | undefined {
  const path = target.path;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(path);
  if (bracketed) return bracketed[1];
  const colon = path.lastIndexOf(':');
  const host = colon >= 0 && path.indexOf(':') === colon ? path.slice(0, colon) : path;
  return host === '' ? undefined : host;
}

/**
 * The credentials classes, defined on first use: `@grpc/grpc-js` (about 50 ms and 15 MB) is
 * loaded only by programs that use these functions, not by every importer of this module.
 */
function grpcClasses(where: string) {
  const g = loadOptionalPeer<typeof grpc>('@grpc/grpc-js', '>= 1.14', where);

  class SpiffeChannelCredentials extends g.ChannelCredentials {
    readonly #config: ClientConfig;

    constructor(config: ClientConfig) {
      super();
      this.#config = config;
    }

    override _isSecure(): boolean {
      return true;
    }

    override _equals(other: grpc.ChannelCredentials): boolean {
      return other === this;
    }

    override _createSecureConnector(
      channelTarget: ChannelTarget,
      options: grpc.ChannelOptions,
      callCredentials?: grpc.CallCredentials,
    ): SecureConnector {
      const config = this.#config;
      const override = options['grpc.ssl_target_name_override'];
      const host = typeof override === 'string' ? override : hostOf(channelTarget);
      const servername = host !== undefined && isIP(host) === 0 ? host : undefined;
      const credentials = callCredentials ?? g.credentials.createEmpty();
      return {
        connect: async (socket: Socket) => {
          const tlsSocket = await connectVerified(config, {
            socket,
            ALPNProtocols: ['h2'],
            ...(servername === undefined ? {} : { servername }),
          });
          return { socket: tlsSocket, secure: true };
        },
        waitForReady: () => Promise.resolve(),
        getCallCredentials: () => credentials,
        destroy: () => {},
      };
    }
  }

  class SpiffeServerCredentials extends g.ServerCredentials {
    readonly #svidSource: X509SvidSource;
    readonly #bundleSource: X509BundleSource | undefined;
    readonly #authorizer: Authorizer | undefined;
    #key: unknown[];
    #unsubscribe: Array<() => void> = [];
    readonly #interceptors: grpc.ServerInterceptor[];

    constructor(svidSource: X509SvidSource, bundleSource: X509BundleSource | undefined, authorizer: Authorizer | undefined) {
      const key = SpiffeServerCredentials.keyFor(svidSource, bundleSource);
      super(
        bundleSource === undefined ? { requestCert: false } : { requestCert: true, rejectUnauthorized: true },
        SpiffeServerCredentials.optionsFor(key, bundleSource !== undefined),
      );
      this.#svidSource = svidSource;
      this.#bundleSource = bundleSource;
      this.#authorizer = authorizer;
      this.#key = key;
      this.#interceptors = bundleSource === undefined ? [] : [this.#interceptor];
    }

    /** The SVID and CA certificates in force: what the context is built from. */
    static keyFor(svidSource: X509SvidSource, bundleSource: X509BundleSource | undefined): unknown[] {
      const svid: X509Svid = svidSource.getX509Svid();
      const authorities = bundleSource === undefined ? [] : (unionOfAuthorities(bundleSource) ?? []);
      return [svid, ...authorities];
    }

    /** Context options for a key from {@link SpiffeServerCredentials.keyFor}. */
    static optionsFor(key: unknown[], withClientAuth: boolean): SecureContextOptions {
      const [svid, ...authorities] = key as [X509Svid, ...X509Certificate[]];
      return {
        ...svidPem(svid),
        ...(withClientAuth ? { ca: caPems(authorities) } : {}),
        minVersion: MIN_TLS_VERSION,
        // No session tickets: a resumed session would skip the TLS-level chain check.
        secureOptions: constants.SSL_OP_NO_TICKET,
      };
    }

    /** Installs the current SVID and bundles for new connections, when they changed. */
    refresh(): void {
      let key: unknown[];
      try {
        key = SpiffeServerCredentials.keyFor(this.#svidSource, this.#bundleSource);
      } catch {
        return; // keep serving with what is in place
      }
      const same = key.length === this.#key.length && key.every((v, i) => v === this.#key[i]);
      if (same) return;
      this.#key = key;
      this.updateSecureContextOptions(SpiffeServerCredentials.optionsFor(key, this.#bundleSource !== undefined));
    }

    override _addWatcher(watcher: (context: SecureContextOptions | null) => void): void {
      if (this.getWatcherCount() === 0) {
        const refresh = (): void => this.refresh();
        this.#unsubscribe.push(onSourceUpdate(this.#svidSource, refresh));
        if (this.#bundleSource !== undefined && this.#bundleSource !== (this.#svidSource as unknown)) {
          this.#unsubscribe.push(onSourceUpdate(this.#bundleSource, refresh));
        }
      }
      super._addWatcher(watcher);
    }

    override _removeWatcher(watcher: (context: SecureContextOptions | null) => void): void {
      super._removeWatcher(watcher);
      if (this.getWatcherCount() === 0) {
        for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
      }
    }

    override _getInterceptors(): grpc.ServerInterceptor[] {
      return this.#interceptors;
    }

    override _equals(other: grpc.ServerCredentials): boolean {
      return other === this;
    }

    #authenticate(call: grpc.ServerInterceptingCallInterface): void {
      this.refresh();
      const cert = call.getAuthContext().sslPeerCertificate;
      const verified = verifyPeerChain(
        chainFromPeerCertificate(cert),
        this.#bundleSource as X509BundleSource,
        this.#authorizer as Authorizer,
        'client',
      );
      rememberGrpcPeer(cert as PeerCertificate, verified.id);
    }

    readonly #interceptor: grpc.ServerInterceptor = (_method, call) =>
      new g.ServerInterceptingCall(call, {
        start: (next) => {
          next({
            onReceiveMetadata: (metadata, passOn) => {
              try {
                this.#authenticate(call);
              } catch (err) {
                call.sendStatus({ code: g.status.UNAUTHENTICATED, details: toTlsPeerError(err).message });
                return;
              }
              passOn(metadata);
            },
          });
        },
      });
  }

  return { SpiffeChannelCredentials, SpiffeServerCredentials };
}

let classes: ReturnType<typeof grpcClasses> | undefined;

/**
 * Channel credentials for a gRPC client that authenticates the server's X509-SVID and, with
 * `svidSource`, presents the client's own (mTLS). Compose call credentials with `compose()` as
 * usual.
 *
 * @param options - Sources and the authorizer for the server's ID.
 * @throws `TypeError` for a missing bundle source or authorizer; an error with code
 *   `ERR_MODULE_NOT_FOUND` when `@grpc/grpc-js` is not installed.
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { grpcChannelCredentials } from '@spiffe-node/spiffe/tls';
 * const credentials = grpcChannelCredentials({
 *   svidSource: source, bundleSource: source,
 *   authorizer: authorizeId('spiffe://example.org/greeter'),
 * });
 * const client = new GreeterClient('localhost:50051', credentials);
 * ```
 */
export function grpcChannelCredentials(options: SpiffeClientParams): grpc.ChannelCredentials {
  return new (classes ??= grpcClasses('grpcChannelCredentials')).SpiffeChannelCredentials(clientConfigFrom(options, 'grpcChannelCredentials'));
}

/**
 * Options of {@link grpcServerCredentials}.
 *
 * @example
 * ```ts
 * const options: GrpcServerCredentialsOptions = { svidSource: source, bundleSource: source, authorizer };
 * ```
 */
export interface GrpcServerCredentialsOptions {
  /** The server's SVID source; rotation installs new SVIDs for new connections. */
  svidSource: X509SvidSource;
  /** Bundles for client SVIDs; without it (and the authorizer) clients are not authenticated. */
  bundleSource?: X509BundleSource;
  /** Required with `bundleSource`: which client IDs may call. */
  authorizer?: Authorizer;
}

/** Verified client certificates (by SHA-256 fingerprint), for {@link peerIdFromGrpcCall}. */
const verifiedGrpcPeers = new Map<string, { id: SpiffeId; notAfter: number }>();
const MAX_GRPC_PEERS = 4096;

function rememberGrpcPeer(cert: PeerCertificate, id: SpiffeId): void {
  const fingerprint = cert.fingerprint256;
  verifiedGrpcPeers.delete(fingerprint);
  verifiedGrpcPeers.set(fingerprint, { id, notAfter: Date.parse(cert.valid_to) });
  if (verifiedGrpcPeers.size > MAX_GRPC_PEERS) {
    const oldest = verifiedGrpcPeers.keys().next().value;
    if (oldest !== undefined) verifiedGrpcPeers.delete(oldest);
  }
}

/**
 * Server credentials for a gRPC server that presents its X509-SVID (rotating with the source)
 * and, with `bundleSource` and `authorizer`, authenticates each client's X509-SVID before any
 * handler runs (see the module notes: TLS-level chain check, then SPIFFE verification and the
 * authorizer at the start of every call, failing with `UNAUTHENTICATED`). No TLS session
 * tickets are issued. The client's ID inside a handler: {@link peerIdFromGrpcCall}.
 *
 * @param options - Sources and the authorizer for client IDs.
 * @throws `TypeError` for a missing SVID source, a bundle source without authorizer (or the
 *   reverse), or a bundle source that cannot list its bundles; the source's error when it has
 *   no SVID yet; an error with code `ERR_MODULE_NOT_FOUND` when `@grpc/grpc-js` is not installed.
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { grpcServerCredentials, peerIdFromGrpcCall } from '@spiffe-node/spiffe/tls';
 * const server = new grpc.Server();
 * server.addService(GreeterService, {
 *   sayHello: (call, callback) => callback(null, { message: `hello ${peerIdFromGrpcCall(call)}` }),
 * });
 * const credentials = grpcServerCredentials({
 *   svidSource: source, bundleSource: source, authorizer: authorizeMemberOf('example.org'),
 * });
 * server.bindAsync('0.0.0.0:50051', credentials, () => {});
 * ```
 */
export function grpcServerCredentials(options: GrpcServerCredentialsOptions): grpc.ServerCredentials {
  if (options === null || typeof options !== 'object') throw new TypeError('grpcServerCredentials: expected an options object');
  assertSvidSource(options.svidSource, 'grpcServerCredentials');
  if (options.bundleSource !== undefined || options.authorizer !== undefined) {
    assertBundleSource(options.bundleSource, 'grpcServerCredentials');
    assertAuthorizer(options.authorizer, 'grpcServerCredentials');
    if (unionOfAuthorities(options.bundleSource) === undefined) {
      throw new TypeError(
        'grpcServerCredentials: the bundle source cannot list its bundles, which the TLS layer needs; pass an X509Bundle, X509BundleSet, SpiffeBundleSet or X509Source',
      );
    }
  }
  return new (classes ??= grpcClasses('grpcServerCredentials')).SpiffeServerCredentials(options.svidSource, options.bundleSource, options.authorizer);
}

/**
 * The SPIFFE ID of the client of a gRPC call on a server using
 * {@link grpcServerCredentials} with an authorizer: the ID its certificate was verified as at
 * the start of this call. `undefined` when the call did not come over such a connection.
 *
 * @param call - The call object a handler receives (or any object with `getAuthContext()`).
 * @example
 * ```ts
 * const impl = {
 *   sayHello(call, callback) {
 *     callback(null, { message: `hello ${peerIdFromGrpcCall(call) ?? 'stranger'}` });
 *   },
 * };
 * ```
 */
export function peerIdFromGrpcCall(call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } }): SpiffeId | undefined {
  let cert: PeerCertificate | undefined;
  try {
    cert = call.getAuthContext().sslPeerCertificate;
  } catch {
    return undefined;
  }
  if (cert === undefined || typeof cert.fingerprint256 !== 'string') return undefined;
  const entry = verifiedGrpcPeers.get(cert.fingerprint256);
  if (entry === undefined || !(Date.now() <= entry.notAfter)) return undefined;
  return entry.id;
}
