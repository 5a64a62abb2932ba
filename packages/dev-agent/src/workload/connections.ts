/**
 * Which connection a gRPC call came in on. The agent accepts Unix connections itself, records
 * where each came from (its peer credentials, read at accept time, or the per-identity socket it
 * arrived on), gives the socket a unique `remoteAddress`, and hands it to grpc-js. grpc-js
 * reports that address as the call's peer (`call.getPeer()`), which leads back to the record.
 *
 * @module
 */
import type { Socket } from 'node:net';
import type { CallerProcess } from '../attest/caller-process.js';
import type { PeerCredentials } from '../attest/peercred.js';

/** Where a connection came from. */
export type ConnectionOrigin =
  /**
   * The public socket, with the caller's peer credentials and its process as seen at accept time
   * (undefined for a PID the agent cannot look up, e.g. a caller in another PID namespace).
   */
  | { readonly kind: 'peercred'; readonly cred: PeerCredentials; readonly process: CallerProcess | undefined }
  /** A per-identity socket: callers get the entries with this SPIFFE ID. */
  | { readonly kind: 'identity'; readonly spiffeId: string; readonly socketPath: string }
  /** The public socket, where the caller's credentials could not be read. */
  | { readonly kind: 'unattested'; readonly reason: string };

const PREFIX = 'spiffe-dev-agent-conn-';

/**
 * The open connections of the Workload API.
 *
 * @example
 * ```ts
 * const connections = new ConnectionRegistry();
 * netServer.on('connection', (socket) => { connections.register(socket, origin); injector.injectConnection(socket); });
 * // in a handler:
 * const origin = connections.lookup(call.getPeer());
 * ```
 */
export class ConnectionRegistry {
  #next = 0;
  readonly #origins = new Map<string, ConnectionOrigin>();

  /** Records a connection and tags its socket; the record goes when the socket closes. */
  register(socket: Socket, origin: ConnectionOrigin): string {
    this.#next += 1;
    const key = `${PREFIX}${this.#next}`;
    Object.defineProperty(socket, 'remoteAddress', { value: key, configurable: true, enumerable: true });
    Object.defineProperty(socket, 'remotePort', { value: undefined, configurable: true, enumerable: true });
    this.#origins.set(key, origin);
    socket.once('close', () => this.#origins.delete(key));
    return key;
  }

  /** The origin of the connection a call reports as its peer, if it is one of ours. */
  lookup(peer: string): ConnectionOrigin | undefined {
    return peer.startsWith(PREFIX) ? this.#origins.get(peer) : undefined;
  }

  /** The number of open connections. */
  get size(): number {
    return this.#origins.size;
  }
}
