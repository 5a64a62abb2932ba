/**
 * The admin API: registration entries, bundles and rotation, as JSON over HTTP/1.1 on a private
 * Unix socket (mode 0600 in a 0700 directory, so only the agent's user, or root, can reach it;
 * with peer credentials available, connections from any other uid are refused as well). The
 * public Workload API socket never serves any of this.
 *
 * Routes: `GET /v1/health`, `GET /v1/entries`, `POST /v1/entries` (a JSON `EntryParams`; its
 * optional `id` is the entry ID the caller chose), `DELETE /v1/entries/<id>`,
 * `GET /v1/bundle?trustDomain=<td>&format=pem|spiffe|jwks|json`, `PUT /v1/bundle?trustDomain=<td>` (a
 * SPIFFE bundle document: sets a foreign bundle), `DELETE /v1/bundle?trustDomain=<td>`,
 * `GET /v1/federated-bundles` (the other trust domains with a bundle), `GET /v1/federation`,
 * `POST /v1/federation` (`{ relationship, replace, bundle? }`: create or update),
 * `DELETE /v1/federation/<td>`, `POST /v1/federation/<td>/refresh`, `POST /v1/rotate/x509`,
 * `POST /v1/rotate/jwt`.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import { SpiffeBundle } from '@spiffe-node/spiffe/bundle';
import { TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import type { PeerCredentialReader } from '../attest/peercred.js';
import { DevAgentError } from '../errors.js';
import { bundleDocument, bundleJson, bundlePem } from '../federation/bundle-text.js';
import type { FederationManager } from '../federation/manager.js';
import { checkRelationship, trustDomainName, type FederationRelationship } from '../federation/relationship.js';
import type { FederationStore } from '../federation/store.js';
import type { Issuer } from '../issuer.js';
import type { Logger } from '../log.js';
import type { EntryParams } from '../state/entries.js';
import { ensurePrivateDir, removeSocket } from '../state/secure-fs.js';
import { listenUnixSocket } from '../state/unix-socket.js';

const MAX_BODY = 1 << 20;

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

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new DevAgentError('ERR_ENTRY_INVALID', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
}

function sendText(res: ServerResponse, status: number, text: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, `${JSON.stringify(body)}\n`, 'application/json');
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
    const { store, manager } = options.federation;
    const own = issuer.config.trustDomain.name;
    /** The bundle of a trust domain other than the agent's own: a local CA's, or a foreign one. */
    const bundleOf = (td: string): SpiffeBundle | undefined => {
      const authority = issuer.authority(td);
      if (authority === undefined) return store.bundle(td);
      return new SpiffeBundle(authority.trustDomain, {
        x509Authorities: authority.x509Authorities(),
        jwtAuthorities: new Map(authority.jwtKeys().map((k) => [k.id, k.publicKey])),
        sequenceNumber: authority.sequence,
        refreshHint: options.refreshHint,
      });
    };
    const tdParam = (url: URL): string => trustDomainName(url.searchParams.get('trustDomain') ?? own);
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
      if (req.method === 'GET' && path === '/v1/bundle' && tdParam(url) !== own) {
        const td = tdParam(url);
        const bundle = bundleOf(td);
        if (bundle === undefined) throw new DevAgentError('ERR_FEDERATION_NOT_FOUND', 'bundle not found');
        const format = url.searchParams.get('format') ?? 'pem';
        if (format === 'pem') return sendText(res, 200, bundlePem(bundle), 'application/x-pem-file');
        if (format === 'spiffe') return sendText(res, 200, `${bundleDocument(bundle)}\n`, 'application/json');
        if (format === 'jwks') return sendText(res, 200, `${bundle.jwtBundle().marshal()}\n`, 'application/json');
        if (format === 'json') return sendText(res, 200, `${JSON.stringify(bundleJson(bundle))}\n`, 'application/json');
        throw new DevAgentError('ERR_AGENT_CONFIG', `unknown bundle format "${format}"; use pem or spiffe`);
      }
      if (req.method === 'PUT' && path === '/v1/bundle') {
        const td = tdParam(url);
        if (td === own) throw new DevAgentError('ERR_FEDERATION_INVALID', "setting a federated bundle for the server's own trust domain is not allowed");
        if (issuer.authority(td) !== undefined) {
          throw new DevAgentError('ERR_FEDERATION_INVALID', `the agent holds a CA for "${td}" (-federatedTrustDomain); its bundle cannot be set`);
        }
        const body = (await readJson(req)) as { bundle?: unknown };
        let bundle: SpiffeBundle;
        try {
          bundle = SpiffeBundle.parse(TrustDomain.fromString(td), JSON.stringify(body.bundle));
        } catch (err) {
          throw new DevAgentError('ERR_FEDERATION_INVALID', `invalid bundle for "${td}": ${(err as Error).message}`, { cause: err });
        }
        await store.setBundle(td, bundle);
        return send(res, 200, { bundle: bundleJson(bundle) });
      }
      if (req.method === 'DELETE' && path === '/v1/bundle') {
        await issuer.deleteForeignBundle(tdParam(url));
        return send(res, 200, { status: 'ok' });
      }
      if (req.method === 'GET' && path === '/v1/federated-bundles') {
        const tds = [...new Set([...issuer.trustDomains().filter((td) => td !== own), ...store.bundleTrustDomains()])].sort();
        return send(res, 200, { trustDomains: tds });
      }
      if (req.method === 'GET' && path === '/v1/federation') {
        return send(res, 200, {
          relationships: store.relationships().map((r) => {
            const bundle = store.bundle(r.trustDomain);
            return { ...r, bundle: bundle === undefined ? undefined : bundleJson(bundle) };
          }),
        });
      }
      if (req.method === 'POST' && path === '/v1/federation') {
        const body = (await readJson(req)) as { relationship?: FederationRelationship; replace?: boolean; bundle?: unknown };
        const relationship = checkRelationship(body.relationship as FederationRelationship, issuer.trustDomains());
        let bundle: SpiffeBundle | undefined;
        if (body.bundle !== undefined && body.bundle !== null) {
          try {
            bundle = SpiffeBundle.parse(TrustDomain.fromString(relationship.trustDomain), JSON.stringify(body.bundle));
          } catch (err) {
            throw new DevAgentError('ERR_FEDERATION_INVALID', `invalid bundle for "${relationship.trustDomain}": ${(err as Error).message}`, { cause: err });
          }
        }
        await store.putRelationship(relationship, body.replace === true, bundle);
        logger.log('info', body.replace === true ? 'Updated federation relationship' : 'Created federation relationship', {
          trust_domain: relationship.trustDomain,
          url: relationship.bundleEndpointUrl,
          profile: relationship.profile,
        });
        const stored = store.bundle(relationship.trustDomain);
        return send(res, 200, { relationship: { ...relationship, bundle: stored === undefined ? undefined : bundleJson(stored) } });
      }
      const federationPath = /^\/v1\/federation\/([^/?#]+)(\/refresh)?$/.exec(path);
      if (federationPath && req.method === 'DELETE' && federationPath[2] === undefined) {
        const td = trustDomainName(decodeURIComponent(federationPath[1] as string));
        await store.deleteRelationship(td);
        logger.log('info', 'Deleted federation relationship', { trust_domain: td });
        return send(res, 200, { status: 'ok' });
      }
      if (federationPath && req.method === 'POST' && federationPath[2] !== undefined) {
        await manager.refresh(trustDomainName(decodeURIComponent(federationPath[1] as string)));
        return send(res, 200, { status: 'ok' });
      }
      if (req.method === 'GET' && path === '/v1/bundle') {
        const td = url.searchParams.get('trustDomain') ?? issuer.config.trustDomain.name;
        const authority = issuer.authority(td);
        if (authority === undefined) {
          throw new DevAgentError('ERR_AGENT_CONFIG', `this agent has no bundle for trust domain "${td}" (it has ${issuer.trustDomains().join(', ')})`);
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
