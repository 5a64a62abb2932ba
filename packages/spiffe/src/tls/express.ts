/**
 * An express (or plain `node:http`-style) middleware that puts the authenticated client's
 * SPIFFE ID on `req.spiffeId`.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authorizer } from '../authorize/index.js';
import type { SpiffeId } from '../spiffeid/index.js';
import { verifiedPeerOf } from './peer.js';

declare global {
  // Declaration merging with express's request type (a no-op without @types/express).
  namespace Express {
    interface Request {
      /** The client's SPIFFE ID, set by `spiffeAuth()` from the verified TLS peer. */
      spiffeId?: SpiffeId;
    }
  }
}

/**
 * Options of {@link spiffeAuth}.
 *
 * @example
 * ```ts
 * app.use('/admin', spiffeAuth({ authorizer: authorizeId('spiffe://example.org/ops'), onMissing: 'close' }));
 * ```
 */
export interface SpiffeAuthOptions {
  /** A further, per-route authorizer (the server's own already ran during the handshake). */
  authorizer?: Authorizer;
  /**
   * What to do for a request without an authenticated client (or one the authorizer refuses):
   * `'forbid'` (default) answers 403; `'close'` destroys the connection without an answer.
   */
  onMissing?: 'forbid' | 'close';
}

type Next = (err?: unknown) => void;

/**
 * Express middleware: sets `req.spiffeId` to the SPIFFE ID the client was authenticated as
 * (by a server from {@link tls!createHttpsServer}, {@link http2!createHttp2SecureServer} or
 * {@link tls!secureServer}) and calls `next()`; answers 403 (or closes the connection) when the
 * request did not come over such a verified connection, so a route behind it never runs
 * unauthenticated, even if the server was set up some other way.
 *
 * @param options - An optional per-route authorizer and the refusal style.
 * @example
 * ```ts
 * import express from 'express';
 * import { createHttpsServer, mtlsServerOptions } from '@spiffe-node/spiffe/tls';
 * import { spiffeAuth } from '@spiffe-node/spiffe/express';
 * const app = express();
 * app.use(spiffeAuth());
 * app.get('/', (req, res) => res.send(`hello ${req.spiffeId}`));
 * createHttpsServer(mtlsServerOptions(source, source, authorizeMemberOf('example.org')), app).listen(8443);
 * ```
 */
export function spiffeAuth(
  options: SpiffeAuthOptions = {},
): (req: IncomingMessage & { spiffeId?: SpiffeId }, res: ServerResponse, next: Next) => void {
  if (options === null || typeof options !== 'object') throw new TypeError('spiffeAuth: options must be an object');
  const { authorizer, onMissing = 'forbid' } = options;
  if (authorizer !== undefined && typeof authorizer !== 'function') {
    throw new TypeError('spiffeAuth: options.authorizer must be an Authorizer function');
  }
  if (onMissing !== 'forbid' && onMissing !== 'close') {
    throw new TypeError(`spiffeAuth: options.onMissing must be 'forbid' or 'close'`);
  }
  const refuse = (res: ServerResponse, req: IncomingMessage): void => {
    if (onMissing === 'close') {
      req.socket.destroy();
      return;
    }
    res.statusCode = 403;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('Forbidden: no authenticated SPIFFE client\n');
  };
  return (req, res, next) => {
    const peer = verifiedPeerOf(req.socket);
    if (peer === undefined) {
      refuse(res, req);
      return;
    }
    if (authorizer !== undefined) {
      try {
        authorizer(peer.id, peer.verifiedChains);
      } catch {
        refuse(res, req);
        return;
      }
    }
    req.spiffeId = peer.id;
    next();
  };
}
