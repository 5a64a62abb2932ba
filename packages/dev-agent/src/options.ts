/**
 * Options of the development agent and their defaults.
 *
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { SpiffeId, TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import { parseKeyType, type KeyType } from './ca/key-type.js';
import { parseDurationSeconds } from './duration.js';
import { DevAgentError } from './errors.js';
import { createLogger, isLogLevel, type Logger, type LogLevel } from './log.js';
import type { IdentitySocket } from './workload/server.js';

/**
 * The default public Workload API socket.
 *
 * @example
 * ```ts
 * process.env.SPIFFE_ENDPOINT_SOCKET = `unix://${DEFAULT_SOCKET_PATH}`;
 * ```
 */
export const DEFAULT_SOCKET_PATH = '/tmp/spiffe-dev-agent/public/api.sock';
/**
 * The default admin socket (used by the CLI).
 *
 * @example
 * ```ts
 * const admin = new AdminClient(DEFAULT_ADMIN_SOCKET_PATH);
 * ```
 */
export const DEFAULT_ADMIN_SOCKET_PATH = '/tmp/spiffe-dev-agent/private/admin.sock';
/**
 * The default data directory (CA keys, entries).
 *
 * @example
 * ```ts
 * await startDevAgent({ dataDir: DEFAULT_DATA_DIR });
 * ```
 */
export const DEFAULT_DATA_DIR = '/tmp/spiffe-dev-agent/data';
/**
 * The default trust domain.
 *
 * @example
 * ```ts
 * TrustDomain.fromString(DEFAULT_TRUST_DOMAIN).idString(); // 'spiffe://example.org'
 * ```
 */
export const DEFAULT_TRUST_DOMAIN = 'example.org';

/**
 * Options of {@link startDevAgent}. Durations are seconds (a number or a numeric string) or
 * strings with units (`90s`, `5m`, `1h`).
 *
 * @example
 * ```ts
 * const options: DevAgentOptions = {
 *   socketPath: '/tmp/my-test/api.sock',
 *   adminSocketPath: '/tmp/my-test/private/admin.sock',
 *   dataDir: '/tmp/my-test/data',
 *   trustDomain: 'example.org',
 *   federatedTrustDomains: ['partner.org'],
 *   x509SvidTtl: '30s',
 * };
 * ```
 */
export interface DevAgentOptions {
  /** The public Workload API socket. Default `/tmp/spiffe-dev-agent/public/api.sock`. */
  socketPath?: string;
  /** The private admin socket. Default `/tmp/spiffe-dev-agent/private/admin.sock`. */
  adminSocketPath?: string;
  /** Where CA keys and entries are kept (0700, files 0600). Default `/tmp/spiffe-dev-agent/data`. */
  dataDir?: string;
  /** The agent's trust domain. Default `example.org`. */
  trustDomain?: string | TrustDomain;
  /** More trust domains with a local CA each; entries may federate with them or be in them. */
  federatedTrustDomains?: ReadonlyArray<string | TrustDomain>;
  /** Default X509-SVID lifetime. Default 1h; at least 1 second. */
  x509SvidTtl?: number | string;
  /** Default JWT-SVID lifetime. Default 5m. */
  jwtSvidTtl?: number | string;
  /** Root CA lifetime. Default 8760h (a year); a new root is published at half-life. */
  caTtl?: number | string;
  /** Intermediate CA lifetime. Default 24h (at least twice the X509-SVID TTL). */
  intermediateTtl?: number | string;
  /** JWT signing key lifetime. Default 24h; a new key is published at half-life. */
  jwtKeyTtl?: number | string;
  /** Key type of the CAs and X509-SVIDs. Default `ec-p256`. */
  keyType?: KeyType;
  /**
   * Per-identity sockets, for where peer credentials are not available: whoever connects to
   * `socketPath` receives the entries whose SPIFFE ID is `spiffeId` (selectors are not checked;
   * access is controlled by who can reach the socket).
   */
  identitySockets?: readonly IdentitySocket[];
  /** Derive `unix:sha256` selectors (hashes each caller's executable, cached). Default false. */
  attestSha256?: boolean;
  /**
   * Attest callers of the public socket by their peer credentials. Default true; false runs the
   * agent as it runs where peer credentials cannot be read (only identity sockets issue SVIDs).
   */
  peerCredentials?: boolean;
  /** `spiffe_refresh_hint` of SPIFFE bundles, seconds. Default 300. */
  refreshHint?: number;
  /**
   * Serve the trust domain's bundle as a SPIFFE bundle endpoint (`https_spiffe`, presenting an
   * X509-SVID for `spiffe://<trust domain>/spire/server`), as SPIRE's
   * `server { federation { bundle_endpoint { address port } } }`. Off by default; port 0 takes any
   * free port (see {@link DevAgent.bundleEndpoint}).
   */
  bundleEndpoint?: { address?: string; port: number };
  /** Log level of the default logger. Default `info`. */
  logLevel?: LogLevel;
  /** Where to log; default: logfmt lines on stderr at {@link DevAgentOptions.logLevel}. */
  logger?: Logger;
}

/** Options with every default applied and every value checked. */
export interface ResolvedOptions {
  socketPath: string;
  adminSocketPath: string;
  dataDir: string;
  trustDomain: TrustDomain;
  federatedTrustDomains: TrustDomain[];
  x509SvidTtl: number;
  jwtSvidTtl: number;
  caTtl: number;
  intermediateTtl: number;
  jwtKeyTtl: number;
  keyType: KeyType;
  identitySockets: IdentitySocket[];
  attestSha256: boolean;
  peerCredentials: boolean;
  refreshHint: number;
  bundleEndpoint: { address: string; port: number } | undefined;
  logger: Logger;
}

function positive(value: number | string | undefined, fallback: number, what: string): number {
  const seconds = value === undefined ? fallback : parseDurationSeconds(value, what);
  if (seconds < 1) throw new DevAgentError('ERR_AGENT_CONFIG', `${what}: must be at least 1 second`);
  return seconds;
}

function trustDomain(value: string | TrustDomain, what: string): TrustDomain {
  if (value instanceof TrustDomain) return value;
  try {
    return TrustDomain.fromString(value);
  } catch (err) {
    throw new DevAgentError('ERR_AGENT_CONFIG', `${what}: "${value}" is not a valid trust domain: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function absolute(path: string, what: string): string {
  if (typeof path !== 'string' || path === '') throw new DevAgentError('ERR_AGENT_CONFIG', `${what}: a path is required`);
  return isAbsolute(path) ? path : resolve(path);
}

/**
 * Applies defaults and checks every option.
 *
 * @throws {@link DevAgentError} `ERR_AGENT_CONFIG` naming the bad option.
 * @example
 * ```ts
 * resolveOptions({ x509SvidTtl: '10s' }).x509SvidTtl; // 10
 * ```
 */
export function resolveOptions(options: DevAgentOptions = {}): ResolvedOptions {
  const td = trustDomain(options.trustDomain ?? DEFAULT_TRUST_DOMAIN, 'trustDomain');
  const federated: TrustDomain[] = [];
  for (const f of options.federatedTrustDomains ?? []) {
    const ftd = trustDomain(f, 'federatedTrustDomain');
    if (ftd.equals(td)) throw new DevAgentError('ERR_AGENT_CONFIG', `federatedTrustDomain: "${ftd.name}" is the agent's own trust domain`);
    if (!federated.some((x) => x.equals(ftd))) federated.push(ftd);
  }
  const x509SvidTtl = positive(options.x509SvidTtl, 3600, 'x509SVIDTTL');
  const jwtSvidTtl = positive(options.jwtSvidTtl, 300, 'jwtSVIDTTL');
  const caTtl = positive(options.caTtl, 365 * 24 * 3600, 'caTTL');
  const intermediateTtl = Math.max(positive(options.intermediateTtl, 24 * 3600, 'intermediateTTL'), 2 * x509SvidTtl);
  const jwtKeyTtl = Math.max(positive(options.jwtKeyTtl, 24 * 3600, 'jwtKeyTTL'), 2 * jwtSvidTtl);
  const level = options.logLevel ?? 'info';
  if (!isLogLevel(level))
    throw new DevAgentError('ERR_AGENT_CONFIG', `logLevel: "${String(level)}" is not one of debug, info, warn, error`);
  const socketPath = absolute(options.socketPath ?? DEFAULT_SOCKET_PATH, 'socketPath');
  const adminSocketPath = absolute(options.adminSocketPath ?? DEFAULT_ADMIN_SOCKET_PATH, 'adminSocketPath');
  const identitySockets = (options.identitySockets ?? []).map((s) => {
    let id: SpiffeId;
    try {
      id = SpiffeId.fromString(s.spiffeId);
    } catch (err) {
      throw new DevAgentError('ERR_AGENT_CONFIG', `identitySocket: "${s.spiffeId}" is not a SPIFFE ID: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return { spiffeId: id.toString(), socketPath: absolute(s.socketPath, 'identitySocket') };
  });
  const paths = [socketPath, adminSocketPath, ...identitySockets.map((s) => s.socketPath)];
  if (new Set(paths).size !== paths.length) {
    throw new DevAgentError('ERR_AGENT_CONFIG', 'socketPath, adminSocketPath and every identity socket must be different paths');
  }
  return {
    socketPath,
    adminSocketPath,
    dataDir: absolute(options.dataDir ?? DEFAULT_DATA_DIR, 'dataDir'),
    trustDomain: td,
    federatedTrustDomains: federated,
    x509SvidTtl,
    jwtSvidTtl,
    caTtl,
    intermediateTtl,
    jwtKeyTtl,
    keyType: parseKeyType(options.keyType ?? 'ec-p256'),
    identitySockets,
    attestSha256: options.attestSha256 ?? false,
    peerCredentials: options.peerCredentials ?? true,
    refreshHint: options.refreshHint ?? 300,
    bundleEndpoint: resolveBundleEndpoint(options.bundleEndpoint),
    logger: options.logger ?? createLogger(level),
  };
}

function resolveBundleEndpoint(option: DevAgentOptions['bundleEndpoint']): ResolvedOptions['bundleEndpoint'] {
  if (option === undefined) return undefined;
  const port = option.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new DevAgentError('ERR_AGENT_CONFIG', `bundleEndpoint: port ${String(port)} is not a TCP port (0 to 65535)`);
  }
  const address = option.address ?? '0.0.0.0';
  if (typeof address !== 'string' || address === '')
    throw new DevAgentError('ERR_AGENT_CONFIG', 'bundleEndpoint: address must be a host address');
  return { address, port };
}

/**
 * Parses an `-identitySocket` value, `spiffe://td/path=/socket/path`.
 *
 * @throws {@link DevAgentError} `ERR_AGENT_CONFIG`.
 * @example
 * ```ts
 * parseIdentitySocket('spiffe://example.org/server=/tmp/server.sock');
 * // { spiffeId: 'spiffe://example.org/server', socketPath: '/tmp/server.sock' }
 * ```
 */
export function parseIdentitySocket(value: string): IdentitySocket {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) {
    throw new DevAgentError('ERR_AGENT_CONFIG', `identitySocket: "${value}" must be formatted as spiffe://trust.domain/path=/socket/path`);
  }
  return { spiffeId: value.slice(0, eq), socketPath: value.slice(eq + 1) };
}
