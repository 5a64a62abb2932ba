/**
 * Starting and stopping a development agent in-process.
 *
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import { SpiffeId, TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import { AdminServer } from './admin/server.js';
import { loadPeerCredentialReader } from './attest/peercred.js';
import { DevAgentError } from './errors.js';
import { startBundleEndpoint } from './federation/bundle-endpoint.js';
import { FederationManager } from './federation/manager.js';
import { FederationStore } from './federation/store.js';
import { Issuer } from './issuer.js';
import { resolveOptions, type DevAgentOptions } from './options.js';
import type { EntryParams, RegistrationEntry } from './state/entries.js';
import { lockDataDir } from './state/lock.js';
import { ensurePrivateDir } from './state/secure-fs.js';
import { WorkloadApiServer } from './workload/server.js';

/**
 * A running development agent.
 *
 * @example
 * ```ts
 * const agent = await startDevAgent({ dataDir: '/tmp/t/data', socketPath: '/tmp/t/api.sock', adminSocketPath: '/tmp/t/admin/admin.sock' });
 * await agent.createEntry({ spiffeId: 'spiffe://example.org/test', selectors: [`unix:uid:${process.getuid!()}`] });
 * process.env.SPIFFE_ENDPOINT_SOCKET = agent.endpoint;
 * // ... run the code under test ...
 * await agent.stop();
 * ```
 */
export interface DevAgent {
  /** The public Workload API socket path. */
  readonly socketPath: string;
  /** The Workload API address for `SPIFFE_ENDPOINT_SOCKET`: `unix://<socketPath>`. */
  readonly endpoint: string;
  /** The private admin socket path. */
  readonly adminSocketPath: string;
  readonly dataDir: string;
  /** The agent's trust domain. */
  readonly trustDomain: TrustDomain;
  /** The other trust domains it holds a CA for. */
  readonly federatedTrustDomains: readonly TrustDomain[];
  /** The agent's own ID, `spiffe://<trust domain>/host`: the default parent ID of entries. */
  readonly agentId: SpiffeId;
  /** Whether callers of the public socket are attested by their peer credentials (false: only identity sockets work). */
  readonly attestsPeers: boolean;
  /**
   * The agent's own SPIFFE bundle endpoint, when {@link DevAgentOptions.bundleEndpoint} is set: its
   * URL and the SPIFFE ID it presents (`spiffe://<trust domain>/spire/server`), for a partner's
   * `federation create -bundleEndpointURL <url> -bundleEndpointProfile https_spiffe -endpointSpiffeID <id>`.
   */
  readonly bundleEndpoint: { readonly url: string; readonly spiffeId: string } | undefined;
  /**
   * Creates a registration entry (parent defaults to {@link DevAgent.agentId}; `id` chooses its entry ID, else a UUID);
   * matching workloads receive it at once.
   */
  createEntry(params: EntryParams): Promise<RegistrationEntry>;
  /** Deletes an entry by ID. @throws {@link DevAgentError} `ERR_ENTRY_NOT_FOUND`. */
  deleteEntry(id: string): Promise<RegistrationEntry>;
  /** All entries, in creation order. */
  listEntries(): readonly RegistrationEntry[];
  /** The X.509 authorities (root CAs) of a trust domain (the agent's own by default). */
  x509Authorities(trustDomain?: string | TrustDomain): X509Certificate[];
  /** The X.509 bundle of a trust domain as PEM. */
  bundlePem(trustDomain?: string | TrustDomain): string;
  /** The JWT bundle of a trust domain as a JWK Set (JSON). */
  jwks(trustDomain?: string | TrustDomain): string;
  /** The SPIFFE bundle (JSON) of a trust domain. */
  spiffeBundle(trustDomain?: string | TrustDomain): string;
  /** Re-mints every issued X509-SVID now and pushes them on open streams. */
  rotateNow(): Promise<void>;
  /** Mints new JWT signing keys, active at once (old keys stay in the JWT bundles until they expire). */
  rotateJwtKeys(): Promise<void>;
  /** Stops the agent: ends every stream and connection and removes its sockets. */
  stop(): Promise<void>;
}

/**
 * Starts a development agent: loads or creates the CAs in the data directory, and serves the
 * Workload API and the admin API.
 *
 * @throws {@link DevAgentError} `ERR_AGENT_CONFIG` for a bad option, `ERR_AGENT_STATE` if a
 *   socket or the data directory is in use or unsafe.
 * @example
 * ```ts
 * import { startDevAgent } from '@spiffe-node/dev-agent';
 * const agent = await startDevAgent({ trustDomain: 'example.org', x509SvidTtl: '10s' });
 * console.log(agent.endpoint);
 * ```
 */
export async function startDevAgent(options: DevAgentOptions = {}): Promise<DevAgent> {
  const opts = resolveOptions(options);
  const { logger } = opts;
  await ensurePrivateDir(opts.dataDir, 0o700);
  const release = await lockDataDir(opts.dataDir);
  const cleanups: Array<() => Promise<void>> = [release];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const federation = await FederationStore.open(opts.dataDir);
    const issuer = await Issuer.open({
      dataDir: opts.dataDir,
      trustDomain: opts.trustDomain,
      federatedTrustDomains: opts.federatedTrustDomains,
      x509SvidTtl: opts.x509SvidTtl,
      jwtSvidTtl: opts.jwtSvidTtl,
      authority: {
        keyType: opts.keyType,
        caTtlSeconds: opts.caTtl,
        intermediateTtlSeconds: opts.intermediateTtl,
        jwtKeyTtlSeconds: opts.jwtKeyTtl,
      },
      refreshHint: opts.refreshHint,
      logger,
      federation,
    });
    cleanups.push(() => issuer.stop());
    const federationManager = new FederationManager(federation, (td) => issuer.authority(td)?.x509Bundle(), logger);
    federationManager.start();
    cleanups.push(() => federationManager.stop());
    const endpoint = opts.bundleEndpoint === undefined ? undefined : await startBundleEndpoint(issuer, opts.bundleEndpoint, logger);
    if (endpoint !== undefined) cleanups.push(() => endpoint.stop());
    const loaded = opts.peerCredentials ? loadPeerCredentialReader() : { error: 'peer credentials disabled by the peerCredentials option' };
    if (loaded.reader === undefined) {
      logger.log('warn', 'Workload attestation by peer credentials is unavailable; only identity sockets issue SVIDs', {
        reason: loaded.error,
      });
    }
    const admin = await AdminServer.start({
      socketPath: opts.adminSocketPath,
      issuer,
      logger,
      peerCredentials: loaded.reader,
      refreshHint: opts.refreshHint,
      federation: { store: federation, manager: federationManager },
    });
    cleanups.push(() => admin.stop());
    const workload = await WorkloadApiServer.start({
      socketPath: opts.socketPath,
      identitySockets: opts.identitySockets,
      issuer,
      logger,
      peerCredentials: loaded.reader,
      peerCredentialsError: loaded.error,
      attestSha256: opts.attestSha256,
    });
    cleanups.push(() => workload.stop());
    logger.log('info', 'Agent started', {
      socket_path: opts.socketPath,
      admin_socket_path: opts.adminSocketPath,
      trust_domain: opts.trustDomain.name,
      federated_trust_domains: opts.federatedTrustDomains.map((t) => t.name),
      data_dir: opts.dataDir,
      attestation: loaded.reader ? 'unix peer credentials' : 'identity sockets only',
    });

    const authorityOf = (td: string | TrustDomain | undefined) => {
      const name = td === undefined ? opts.trustDomain.name : typeof td === 'string' ? TrustDomain.fromString(td).name : td.name;
      const authority = issuer.authority(name);
      if (authority === undefined) {
        throw new DevAgentError(
          'ERR_AGENT_CONFIG',
          `this agent has no CA for trust domain "${name}" (it has ${issuer.trustDomains().join(', ')})`,
        );
      }
      return authority;
    };
    let stopping: Promise<void> | undefined;
    return {
      socketPath: opts.socketPath,
      endpoint: `unix://${opts.socketPath}`,
      adminSocketPath: opts.adminSocketPath,
      dataDir: opts.dataDir,
      trustDomain: opts.trustDomain,
      federatedTrustDomains: opts.federatedTrustDomains,
      agentId: SpiffeId.fromPath(opts.trustDomain, '/host'),
      attestsPeers: loaded.reader !== undefined,
      bundleEndpoint: endpoint === undefined ? undefined : { url: endpoint.url, spiffeId: endpoint.spiffeId },
      createEntry: (params) => issuer.createEntry(params),
      deleteEntry: (id) => issuer.deleteEntry(id),
      listEntries: () => issuer.entries.list(),
      x509Authorities: (td) => authorityOf(td).x509Authorities(),
      bundlePem: (td) => authorityOf(td).bundlePem(),
      jwks: (td) => authorityOf(td).jwks(),
      spiffeBundle: (td) => authorityOf(td).spiffeBundle(opts.refreshHint),
      rotateNow: () => issuer.rotateX509Svids(),
      rotateJwtKeys: () => issuer.rotateJwtKeys(),
      stop: () => {
        stopping ??= cleanup().then(() => logger.log('info', 'Agent stopped'));
        return stopping;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
