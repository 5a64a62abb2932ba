/**
 * The admin API's federation routes: foreign bundles (`GET|PUT|DELETE /v1/bundle?trustDomain=<td>`
 * for a trust domain other than the agent's own, `GET /v1/federated-bundles`) and federation
 * relationships (`GET|POST /v1/federation`, `DELETE /v1/federation/<td>`,
 * `POST /v1/federation/<td>/refresh`).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpiffeBundle } from '@spiffe-node/spiffe/bundle';
import { TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import { DevAgentError } from '../errors.js';
import { bundleDocument, bundleJson, bundlePem } from '../federation/bundle-text.js';
import type { FederationManager } from '../federation/manager.js';
import { checkRelationship, trustDomainName, type FederationRelationship } from '../federation/relationship.js';
import type { FederationStore } from '../federation/store.js';
import type { Issuer } from '../issuer.js';
import type { Logger } from '../log.js';
import { readJson, send, sendText } from './http.js';

/** Handles a request if it is a federation route; resolves to whether it was one. */
export type FederationRoutes = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

/**
 * The federation routes of an agent.
 *
 * @example
 * ```ts
 * const routes = federationRoutesOf({ issuer, logger, refreshHint: 300, store, manager });
 * if (await routes(req, res, url)) return;
 * ```
 */
export function federationRoutesOf(options: {
  issuer: Issuer;
  logger: Logger;
  refreshHint: number;
  store: FederationStore;
  manager: FederationManager;
}): FederationRoutes {
  const { issuer, logger, store, manager } = options;
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
  const json = (res: ServerResponse, status: number, body: unknown): true => {
    send(res, status, body);
    return true;
  };
  const text = (res: ServerResponse, status: number, body: string, type: string): true => {
    sendText(res, status, body, type);
    return true;
  };
  return async (req, res, url) => {
    const path = url.pathname;
    if (req.method === 'GET' && path === '/v1/bundle' && tdParam(url) !== own) {
      const td = tdParam(url);
      const bundle = bundleOf(td);
      if (bundle === undefined) throw new DevAgentError('ERR_FEDERATION_NOT_FOUND', 'bundle not found');
      const format = url.searchParams.get('format') ?? 'pem';
      if (format === 'pem') return text(res, 200, bundlePem(bundle), 'application/x-pem-file');
      if (format === 'spiffe') return text(res, 200, `${bundleDocument(bundle)}\n`, 'application/json');
      if (format === 'jwks') return text(res, 200, `${bundle.jwtBundle().marshal()}\n`, 'application/json');
      if (format === 'json') return text(res, 200, `${JSON.stringify(bundleJson(bundle))}\n`, 'application/json');
      throw new DevAgentError('ERR_AGENT_CONFIG', `unknown bundle format "${format}"; use pem or spiffe`);
    }
    if (req.method === 'PUT' && path === '/v1/bundle') {
      const td = tdParam(url);
      if (td === own)
        throw new DevAgentError('ERR_FEDERATION_INVALID', "setting a federated bundle for the server's own trust domain is not allowed");
      if (issuer.authority(td) !== undefined) {
        throw new DevAgentError(
          'ERR_FEDERATION_INVALID',
          `the agent holds a CA for "${td}" (-federatedTrustDomain); its bundle cannot be set`,
        );
      }
      const body = (await readJson(req)) as { bundle?: unknown };
      let bundle: SpiffeBundle;
      try {
        bundle = SpiffeBundle.parse(TrustDomain.fromString(td), JSON.stringify(body.bundle));
      } catch (err) {
        throw new DevAgentError('ERR_FEDERATION_INVALID', `invalid bundle for "${td}": ${(err as Error).message}`, { cause: err });
      }
      await store.setBundle(td, bundle);
      return json(res, 200, { bundle: bundleJson(bundle) });
    }
    if (req.method === 'DELETE' && path === '/v1/bundle') {
      await issuer.deleteForeignBundle(tdParam(url));
      return json(res, 200, { status: 'ok' });
    }
    if (req.method === 'GET' && path === '/v1/federated-bundles') {
      const tds = [...new Set([...issuer.trustDomains().filter((td) => td !== own), ...store.bundleTrustDomains()])].sort();
      return json(res, 200, { trustDomains: tds });
    }
    if (req.method === 'GET' && path === '/v1/federation') {
      return json(res, 200, {
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
          throw new DevAgentError('ERR_FEDERATION_INVALID', `invalid bundle for "${relationship.trustDomain}": ${(err as Error).message}`, {
            cause: err,
          });
        }
      }
      await store.putRelationship(relationship, body.replace === true, bundle);
      logger.log('info', body.replace === true ? 'Updated federation relationship' : 'Created federation relationship', {
        trust_domain: relationship.trustDomain,
        url: relationship.bundleEndpointUrl,
        profile: relationship.profile,
      });
      const stored = store.bundle(relationship.trustDomain);
      return json(res, 200, { relationship: { ...relationship, bundle: stored === undefined ? undefined : bundleJson(stored) } });
    }
    const federationPath = /^\/v1\/federation\/([^/?#]+)(\/refresh)?$/.exec(path);
    if (federationPath && req.method === 'DELETE' && federationPath[2] === undefined) {
      const td = trustDomainName(decodeURIComponent(federationPath[1] as string));
      await store.deleteRelationship(td);
      logger.log('info', 'Deleted federation relationship', { trust_domain: td });
      return json(res, 200, { status: 'ok' });
    }
    if (federationPath && req.method === 'POST' && federationPath[2] !== undefined) {
      await manager.refresh(trustDomainName(decodeURIComponent(federationPath[1] as string)));
      return json(res, 200, { status: 'ok' });
    }
    return false;
  };
}
