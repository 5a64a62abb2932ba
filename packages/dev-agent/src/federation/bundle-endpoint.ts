/**
 * The agent's own SPIFFE bundle endpoint (as SPIRE's `server { federation { bundle_endpoint } }`):
 * serves its trust domain's bundle, with `spiffe_sequence` and `spiffe_refresh_hint`, over the
 * `https_spiffe` profile, presenting an X509-SVID for `spiffe://<trust domain>/spire/server`
 * (the ID partners configure as `-endpointSpiffeID`, as with SPIRE). The SVID is minted by the
 * trust domain's CA and re-minted at half-life and whenever the signing CA changes.
 *
 * @module
 */
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SpiffeBundle } from '@spiffe-node/spiffe/bundle';
import { bundleEndpointHandler } from '@spiffe-node/spiffe/federation';
import { SpiffeId, TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import { X509Svid } from '@spiffe-node/spiffe/svid/x509';
import { createHttpsServer, tlsServerOptions } from '@spiffe-node/spiffe/tls';
import { mintX509Svid } from '../ca/x509-ca.js';
import { DevAgentError } from '../errors.js';
import type { Issuer } from '../issuer.js';
import type { Logger } from '../log.js';

/** The path of the endpoint SVID's SPIFFE ID, as SPIRE's server uses. */
const ENDPOINT_SVID_PATH = '/spire/server';

/** Where the endpoint listens. */
export interface BundleEndpointAddress {
  /** The address to listen on (e.g. `127.0.0.1`, `0.0.0.0`). */
  readonly address: string;
  /** The TCP port (0: any free port). */
  readonly port: number;
}

/** A running bundle endpoint. */
export interface RunningBundleEndpoint {
  /** The URL partners configure: `https://<address>:<port>`. */
  readonly url: string;
  /** The SPIFFE ID its X509-SVID carries. */
  readonly spiffeId: string;
  stop(): Promise<void>;
}

/**
 * Starts serving the bundle of the issuer's own trust domain.
 *
 * @throws {@link DevAgentError} `ERR_AGENT_CONFIG` when the address cannot be listened on.
 * @example
 * ```ts
 * const endpoint = await startBundleEndpoint(issuer, { address: '127.0.0.1', port: 8443 }, logger);
 * console.log(endpoint.url, endpoint.spiffeId); // https://127.0.0.1:8443 spiffe://example.org/spire/server
 * ```
 */
export async function startBundleEndpoint(issuer: Issuer, where: BundleEndpointAddress, logger: Logger): Promise<RunningBundleEndpoint> {
  const td = issuer.config.trustDomain;
  const spiffeId = SpiffeId.fromPath(td, ENDPOINT_SVID_PATH).toString();
  const authority = issuer.authority(td.name);
  if (authority === undefined) throw new DevAgentError('ERR_AGENT_STATE', `no CA for the agent's trust domain "${td.name}"`);

  let svid: X509Svid;
  let signedBy = '';
  let renewAt = 0;
  const mint = async (): Promise<void> => {
    const intermediate = authority.intermediate;
    const now = new Date();
    const minted = await mintX509Svid({
      spiffeId,
      dnsNames: [],
      keyType: issuer.config.authority.keyType,
      ttlSeconds: issuer.config.x509SvidTtl,
      issuer: intermediate,
      now,
    });
    svid = X509Svid.parseRaw([minted.der, intermediate.der], minted.privateKeyDer);
    signedBy = intermediate.id;
    renewAt = now.getTime() + (minted.notAfter.getTime() - now.getTime()) / 2;
    logger.log('info', 'Issued bundle endpoint X509-SVID', {
      spiffe_id: spiffeId,
      serial: minted.serial,
      expires_at: minted.notAfter.toISOString(),
    });
  };
  await mint();
  let minting: Promise<void> | undefined;
  const renewIfDue = (): void => {
    if (minting !== undefined || (Date.now() < renewAt && authority.intermediate.id === signedBy)) return;
    minting = mint()
      .catch((err: unknown) => logger.log('error', 'Cannot renew the bundle endpoint X509-SVID', { error: (err as Error).message }))
      .finally(() => {
        minting = undefined;
      });
  };
  const timer = setInterval(renewIfDue, 5_000);
  timer.unref();
  issuer.on('change', renewIfDue);

  const options = { refreshHintSeconds: issuer.config.refreshHint };
  const current = (): SpiffeBundle =>
    new SpiffeBundle(TrustDomain.fromString(td.name), {
      x509Authorities: authority.x509Authorities(),
      jwtAuthorities: new Map(authority.jwtKeys().map((k) => [k.id, k.publicKey])),
      sequenceNumber: authority.sequence,
    });
  const server: Server = createHttpsServer(tlsServerOptions({ getX509Svid: () => svid }), (req, res) =>
    bundleEndpointHandler(current(), td, options)(req, res),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(where.port, where.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    clearInterval(timer);
    issuer.off('change', renewIfDue);
    throw new DevAgentError(
      'ERR_AGENT_CONFIG',
      `cannot serve the bundle endpoint on ${where.address}:${where.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
  const port = (server.address() as AddressInfo).port;
  const host = where.address.includes(':') ? `[${where.address}]` : where.address;
  const url = `https://${host}:${port}`;
  logger.log('info', 'Serving the bundle endpoint', { url, spiffe_id: spiffeId, profile: 'https_spiffe' });
  return {
    url,
    spiffeId,
    async stop() {
      clearInterval(timer);
      issuer.off('change', renewIfDue);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
