/**
 * The admin API: registration entries, bundles and rotation, as JSON over HTTP/1.1 on a private
 * Unix socket (mode 0600 in a 0700 directory, so only the agent's user, or root, can reach it;
 * with peer credentials available, connections from any other uid are refused as well). The
 * public Workload API socket never serves any of this.
 *
 * Routes: `GET /v1/health`, `GET /v1/entries`, `POST /v1/entries` (a JSON `EntryParams`; its
 * optional `id` is the entry ID the caller chose), `DELETE /v1/entries/<id>`,
 * `GET /v1/bundle?trustDomain=<td>&format=pem|spiffe|jwks|json`, `POST /v1/rotate/x509`,
 * `POST /v1/rotate/jwt`, and the federation routes of `federation-routes.ts`: `PUT|DELETE
 * /v1/bundle?trustDomain=<td>` (a foreign bundle), `GET /v1/federated-bundles`, `GET|POST
 * /v1/federation` (`{ relationship, replace, bundle? }`: create or update), `DELETE
 * /v1/federation/<td>`, `POST /v1/federation/<td>/refresh`.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import type { PeerCredentialReader } from '../attest/peercred.js';
import { DevAgentError } from '../errors.js';
import type { FederationManager } from '../federation/manager.js';
import type { FederationStore } from '../federation/store.js';
import type { Issuer } from '../issuer.js';
import type { Logger } from '../log.js';
import type { EntryParams } from '../state/entries.js';
import { ensurePrivateDir, removeSocket } from '../state/secure-fs.js';
import { listenUnixSocket } from '../state/unix-socket.js';
import { federationRoutesOf } from './federation-routes.js';
import { readJson, send, sendText } from './http.js';

/** The HTTP status of an error code. */
function httpStatus(err: unknown): number {
  if (err instanceof DevAgentError) {
    switch (err.code) {
      case 'ERR_ENTRY_INVALID':
      case 'ERR_AGENT_CONFIG':
      case 'ERR_FEDERATION_INVALID':
        return 400;
      case 'ERR_ENTRY_EXISTS':
      case 'ERR_FEDERATION_EXISTS':
      case 'ERR_FEDERATION_IN_USE':
        return 409;
      case 'ERR_ENTRY_NOT_FOUND':
      case 'ERR_FEDERATION_NOT_FOUND':
        return 404;
      case 'ERR_FEDERATION_FETCH':
        return 502;
      default:
        return 500;
    }
  }
  if (err instanceof TypeError || err instanceof SyntaxError || err instanceof URIError) return 400;
  return 500;
}

/**
 * The running admin API.
 *
 * @example
 * ```ts
 * const admin = await AdminServer.start({ socketPath: '/tmp/spiffe-dev-agent/private/admin.sock', issuer, logger, peerCredentials });
 * await admin.stop();
 * ```
 */
export class AdminServer {
  readonly #server: Server;
  readonly #path: string;

  private constructor(server: Server, path: string) {
    this.#server = server;
    this.#path = path;
  }

  /** Creates the private directory and socket and starts serving. */
  static async start(options: {
    socketPath: string;
    issuer: Issuer;
    logger: Logger;
    peerCredentials: PeerCredentialReader | undefined;
    refreshHint: number;
    federation: { store: FederationStore; manager: FederationManager };
  }): Promise<AdminServer> {
    const { issuer, logger } = options;
    const federationRoutes = federationRoutesOf({ issuer, logger, refreshHint: options.refreshHint, ...options.federation });
    const ownUid = process.geteuid?.() ?? 0;
    const server = createServer((req, res) => {
      handle(req, res).catch((err: unknown) => {
        const status = httpStatus(err);
        if (status === 500) logger.log('error', 'Admin request failed', { url: req.url, error: (err as Error).message });
        send(res, status, {
          error: { code: err instanceof DevAgentError ? err.code : 'ERR_ADMIN_API', message: (err as Error).message },
        });
      });
    });
    server.on('connection', (socket: Socket) => {
      if (options.peerCredentials === undefined) return;
      try {
        const { uid } = options.peerCredentials.read(socket);
        if (uid === 0 || uid === ownUid) return;
        logger.log('warn', 'Refused admin connection from another user', { uid });
      } catch (err) {
        logger.log('warn', 'Refused admin connection: peer credentials unreadable', { error: (err as Error).message });
      }
      socket.destroy();
    });

    async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const url = new URL(req.url ?? '/', 'http://admin');
      const path = url.pathname;
      if (req.method === 'GET' && path === '/v1/health') return send(res, 200, { status: 'ok', trustDomains: issuer.trustDomains() });
      if (req.method === 'GET' && path === '/v1/entries') return send(res, 200, { entries: issuer.entries.list() });
      if (req.method === 'POST' && path === '/v1/entries') {
        const entry = await issuer.createEntry((await readJson(req)) as EntryParams);
        return send(res, 200, { entry });
      }
      // Matched on the path as sent: URL parsing would resolve the entry IDs "." and ".." away.
      const entryPath = /^\/v1\/entries\/([^/?#]+)(?:[?#]|$)/.exec(req.url ?? '');
      if (req.method === 'DELETE' && entryPath) {
        const entry = await issuer.deleteEntry(decodeURIComponent(entryPath[1] as string));
        return send(res, 200, { entry });
      }
      if (await federationRoutes(req, res, url)) return;
      if (req.method === 'GET' && path === '/v1/bundle') {
        const td = url.searchParams.get('trustDomain') ?? issuer.config.trustDomain.name;
        const authority = issuer.authority(td);
        if (authority === undefined) {
          throw new DevAgentError(
            'ERR_AGENT_CONFIG',
            `this agent has no bundle for trust domain "${td}" (it has ${issuer.trustDomains().join(', ')})`,
          );
        }
        const format = url.searchParams.get('format') ?? 'pem';
        if (format === 'pem') return sendText(res, 200, authority.bundlePem(), 'application/x-pem-file');
        if (format === 'spiffe') return sendText(res, 200, `${authority.spiffeBundle(options.refreshHint)}\n`, 'application/json');
        if (format === 'jwks') return sendText(res, 200, `${authority.jwks()}\n`, 'application/json');
        throw new DevAgentError('ERR_AGENT_CONFIG', `unknown bundle format "${format}"; use pem or spiffe`);
      }
      if (req.method === 'POST' && path === '/v1/rotate/x509') {
        await issuer.rotateX509Svids();
        return send(res, 200, { status: 'ok' });
      }
      if (req.method === 'POST' && path === '/v1/rotate/jwt') {
        await issuer.rotateJwtKeys();
        return send(res, 200, { status: 'ok' });
      }
      send(res, 404, { error: { code: 'ERR_ADMIN_API', message: `no route ${req.method} ${path}` } });
    }

    await ensurePrivateDir(dirname(options.socketPath), 0o700);
    await listenUnixSocket(server, options.socketPath, 0o600);
    return new AdminServer(server, options.socketPath);
  }

  /** Stops serving and removes the socket. */
  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await removeSocket(this.#path);
  }
}
