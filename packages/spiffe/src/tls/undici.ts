/**
 * `fetch` with SPIFFE, through an undici dispatcher. undici is an optional peer dependency:
 * it is loaded when {@link createSpiffeDispatcher} is first called, never by merely importing
 * this package.
 *
 * @module
 */
import type { ConnectionOptions } from 'node:tls';
import type { Agent } from 'undici';
import { clientConfigFrom, connectVerified, type SpiffeClientParams } from './connect.js';
import { loadOptionalPeer } from './optional-peer.js';

/**
 * Options of {@link createSpiffeDispatcher}.
 *
 * @example
 * ```ts
 * const options: SpiffeDispatcherOptions = { bundleSource: source, authorizer, agentOptions: { connections: 8 } };
 * ```
 */
export interface SpiffeDispatcherOptions extends SpiffeClientParams {
  /** Further `undici.Agent` options (pool sizes, timeouts); its `connect` is ours. */
  agentOptions?: Omit<Agent.Options, 'connect'>;
  /** Give up a connection attempt after this long (default 10 s, as undici's own connector). */
  connectTimeoutMs?: number;
}

type UndiciModule = typeof import('undici');

function loadUndici(): UndiciModule {
  return loadOptionalPeer<UndiciModule>('undici', '>= 7', 'createSpiffeDispatcher');
}

/**
 * An undici `Agent` (a fetch dispatcher) whose connections authenticate the server's
 * X509-SVID (bundle of the server's own trust domain, then the authorizer) and, with
 * `svidSource`, present the client's current SVID. A request is written only after the server
 * passed; each new connection reads the SVID and bundles current at that moment. Only
 * `https:` URLs are served.
 *
 * Use it with undici's own `fetch` / `request` (`import { fetch } from 'undici'`), which match
 * this dispatcher's version; Node's global `fetch` bundles an older undici.
 *
 * @param options - Sources, authorizer and agent options.
 * @throws `TypeError` for a missing bundle source or authorizer; an
 *   {@link errors!OptionalPeerError} (`ERR_OPTIONAL_PEER_MISSING`) when undici is not installed.
 * @example
 * ```ts
 * import { fetch } from 'undici';
 * import { createSpiffeDispatcher } from '@spiffe-node/spiffe/undici';
 * const dispatcher = createSpiffeDispatcher({
 *   svidSource: source, bundleSource: source,
 *   authorizer: authorizeId('spiffe://example.org/server'),
 * });
 * const res = await fetch('https://localhost:8443/', { dispatcher });
 * console.log(await res.text());
 * ```
 */
export function createSpiffeDispatcher(options: SpiffeDispatcherOptions): Agent {
  const config = clientConfigFrom(options, 'createSpiffeDispatcher');
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const { Agent: UndiciAgent } = loadUndici();
  return new UndiciAgent({
    ...(options.agentOptions ?? {}),
    connect(connectOptions, callback) {
      if (connectOptions.protocol !== 'https:') {
        callback(new TypeError(`createSpiffeDispatcher: only https: URLs can be authenticated, not ${connectOptions.protocol}`), null);
        return;
      }
      const base: ConnectionOptions = {
        host: connectOptions.hostname.startsWith('[') ? connectOptions.hostname.slice(1, -1) : connectOptions.hostname,
        port: Number(connectOptions.port || 443),
        ...(connectOptions.servername ? { servername: connectOptions.servername } : {}),
        ...(connectOptions.localAddress ? { localAddress: connectOptions.localAddress } : {}),
        ...(connectOptions.httpSocket ? { socket: connectOptions.httpSocket } : {}),
        ALPNProtocols: ['http/1.1'],
      };
      connectVerified(config, base, { timeoutMs }).then(
        (socket) => {
          socket.setNoDelay(true);
          socket.setKeepAlive(true, 60_000);
          callback(null, socket);
        },
        (err: Error) => callback(err, null),
      );
    },
  });
}
