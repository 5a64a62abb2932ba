/**
 * The gateway: a TLS server that presents the gateway's X509-SVID and asks for (without
 * requiring) a client certificate, routes each request to an API operation, applies the API's
 * authentication, and forwards to the API's endpoint with the client identity in
 * `x-forwarded-client-cert`, over SPIFFE mTLS for `https://` endpoints.
 *
 * @module
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type https from 'node:https';
import type { TLSSocket } from 'node:tls';
import httpProxy from 'http-proxy';
import { authorizeId, type JwtBundleSource, type X509BundleSource, type X509SvidSource } from '@spiffe-node/spiffe';
import { createHttpsServer, createSpiffeHttpsAgent, formatTlsHandshakeError, tlsServerOptions } from '@spiffe-node/spiffe/tls';
import type { ApiDefinition } from './api-definition.js';
import { authenticate, type AcceptedCertificate, type RejectionRule } from './authenticate.js';
import { certificateHash, toPem } from './certificates.js';
import { findClientCertificate } from './client-certificate.js';
import { CLIENT_IDENTITY_HEADERS, XFCC_HEADER, type GatewayConfig, type LoadedApi } from './gateway-config.js';
import { formatXfccElement } from './xfcc.js';

/**
 * What the gateway needs besides its configuration.
 *
 * @example
 * ```ts
 * const gateway = new ApiGateway({ svidSource: x509Source, x509Bundles: x509Source, jwtBundles: jwtSource, config });
 * ```
 */
export interface ApiGatewayOptions {
  /** The gateway's own X509-SVID (presented to clients and upstreams; its ID is XFCC's `By`). */
  svidSource: X509SvidSource;
  /** Bundles for client, proxy and upstream X509-SVIDs. */
  x509Bundles: X509BundleSource;
  /** Bundles for JWT-SVIDs. */
  jwtBundles: JwtBundleSource;
  config: GatewayConfig;
  /** Where log lines go (default `console.log`). */
  log?: (line: string) => void;
}

/** What a client sees for each rejection (the log line carries the detailed reason). */
const RULE_MESSAGES: Record<RejectionRule, string> = {
  mtls_required: 'this API requires a client certificate',
  certificate_not_accepted: 'the client certificate is not accepted for this API',
  jwt_required: 'this API requires a JWT-SVID in the Authorization header',
  jwt_invalid: 'the bearer token is not a valid JWT-SVID for this API',
  authentication_required: 'this API requires a client certificate or a JWT-SVID',
};

function sendJson(res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

function describeCertificate(cert: AcceptedCertificate): string {
  const who = cert.spiffeId?.toString() ?? `certificate sha256:${certificateHash(cert.der).slice(0, 16)}`;
  return `${who} (${cert.how === 'spiffe' ? 'X509-SVID' : cert.how === 'pinned' ? 'pinned certificate' : 'issued by a pinned CA'}, via ${cert.via})`;
}

/**
 * One line describing an API as loaded, for the start and reload logs.
 *
 * @example
 * ```ts
 * for (const api of config.apis) console.log(describeApi(api));
 * // API EmployeeServiceAPI 3.14 at /employee/3.14 -> https://localhost:8080/ (spiffe://example.org/employee-service); mTLS mandatory: 1 pinned certificate, SPIFFE IDs spiffe://example.org/client
 * ```
 */
export function describeApi(api: LoadedApi): string {
  const d = api.definition;
  const base = d.basePath === '/' ? '' : d.basePath;
  const upstream = `${d.endpoint.href}${d.upstreamId === undefined ? '' : ` (${d.upstreamId.toString()})`}`;
  const auth: string[] = [];
  if (d.mtls !== undefined) {
    const accepts: string[] = [];
    if (api.pinned.size > 0) accepts.push(`${api.pinned.size} pinned certificate${api.pinned.size === 1 ? '' : 's'}`);
    if (d.mtls.spiffeIds.length > 0) accepts.push(`SPIFFE IDs ${d.mtls.spiffeIds.join(', ')}`);
    if (d.mtls.trustDomains.length > 0) accepts.push(`trust domains ${d.mtls.trustDomains.join(', ')}`);
    auth.push(`mTLS ${d.mtls.required}: ${accepts.join(', ')}`);
  }
  if (d.jwt !== undefined) auth.push(`JWT ${d.jwt.required}: audience ${d.jwt.audience.join(', ')}`);
  const open = d.operations.filter((o) => !o.secured).map((o) => `${o.verb} ${o.target}`);
  if (open.length > 0) auth.push(`unsecured: ${open.join(', ')}`);
  return `API ${d.name} ${d.version} at ${base}/${d.version}${d.defaultVersion ? ` and ${base || '/'}` : ''} -> ${upstream}; ${auth.join('; ')}`;
}

/**
 * The API gateway. Build it with a validated configuration, serve it with
 * {@link ApiGateway.createServer}, and swap configurations with {@link ApiGateway.apply}
 * (requests in flight finish with the configuration they started with; connections stay up).
 *
 * @example
 * ```ts
 * const gateway = new ApiGateway({ svidSource: x509Source, x509Bundles: x509Source, jwtBundles: jwtSource, config });
 * gateway.createServer().listen(9095);
 * process.on('SIGHUP', async () => gateway.apply(await loadGatewayConfig(file)));
 * ```
 */
export class ApiGateway {
  readonly #svidSource: X509SvidSource;
  readonly #x509Bundles: X509BundleSource;
  readonly #jwtBundles: JwtBundleSource;
  readonly #log: (line: string) => void;
  readonly #proxy: httpProxy;
  readonly #agents = new Map<string, http.Agent>();
  #config: GatewayConfig;

  constructor(options: ApiGatewayOptions) {
    this.#svidSource = options.svidSource;
    this.#x509Bundles = options.x509Bundles;
    this.#jwtBundles = options.jwtBundles;
    this.#config = options.config;
    this.#log = options.log ?? ((line) => console.log(line));
    this.#proxy = httpProxy.createProxyServer({ changeOrigin: true, xfwd: false, ws: false });
  }

  /** The configuration in force. */
  get config(): GatewayConfig {
    return this.#config;
  }

  /**
   * Puts a new (already validated) configuration in force for the requests that start from now.
   *
   * @param config - From {@link loadGatewayConfig}.
   */
  apply(config: GatewayConfig): void {
    this.#config = config;
  }

  /**
   * The gateway's HTTPS server: its X509-SVID (rotated as the source renews it), a client
   * certificate requested but not required, so that each API's rules decide. A connection the
   * core refuses at the TLS layer (a client renegotiating TLS 1.2 to present another
   * certificate) is closed and logged as `TLS handshake error from <peer>: <reason>`.
   *
   * @example
   * ```ts
   * const server = gateway.createServer();
   * server.listen(9095, '0.0.0.0');
   * ```
   */
  createServer(): https.Server {
    const server = createHttpsServer(tlsServerOptions(this.#svidSource), (req, res) => this.handle(req, res));
    // The core's server options refuse `requestCert` (identity and trust belong to it), and its
    // mTLS mode rejects clients without an X509-SVID before any request is read. The gateway
    // needs the third way: ask for a certificate, let TLS accept any (or none: the server's
    // context has no CAs and `rejectUnauthorized` is false, as in the core's mTLS mode), and
    // judge it per API. Node reads `requestCert` from the server for each new connection.
    (server as unknown as { requestCert: boolean }).requestCert = true;
    // The core refuses what it must at the TLS layer whatever the API rules say (a client that
    // renegotiates after admission, to present another certificate): say so, or an attack
    // leaves no trace.
    server.on('spiffeRejected', (err: unknown, socket: TLSSocket) => {
      this.#log(formatTlsHandshakeError(err, socket));
    });
    server.on('spiffeRotationError', (err: unknown) => {
      this.#log(`SVID rotation error: ${err instanceof Error ? err.message : String(err)}`);
    });
    return server;
  }

  /** Closes the upstream connection pools. */
  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
    this.#proxy.close();
  }

  /**
   * Handles one request (the server's request listener).
   *
   * @param req - The request, on a socket of {@link ApiGateway.createServer}.
   * @param res - Its response.
   */
  handle(req: IncomingMessage, res: ServerResponse): void {
    this.#handle(req, res).catch((err: unknown) => {
      this.#log(`Internal error on ${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
      sendJson(res, 500, { error: 'internal_error' });
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const config = this.#config;
    const method = req.method ?? 'GET';
    const found = findClientCertificate(req, config, this.#x509Bundles);
    for (const header of found.ignored) this.#log(`Ignored ${header} from ${found.peer}: ${found.ignoredWhy}`);
    // Whoever sent them, client-identity headers never reach an upstream: only the gateway's own XFCC does.
    for (const header of new Set([config.clientCertificateHeader, ...CLIENT_IDENTITY_HEADERS])) delete req.headers[header];

    const rawUrl = req.url ?? '/';
    if (!rawUrl.startsWith('/') || rawUrl.startsWith('//') || /%2f|%5c|\\/i.test(rawUrl)) {
      sendJson(res, 400, {
        error: 'invalid_path',
        message: 'the request path must start with a single "/" and not contain encoded slashes or backslashes',
      });
      return;
    }
    const url = new URL(rawUrl, 'https://gateway.invalid');
    const route = config.routes.match(method, url.pathname);
    if (route.kind === 'no_route') {
      sendJson(res, 404, { error: 'not_found', message: `no API operation for ${method} ${url.pathname}` });
      return;
    }
    if (route.kind === 'method_not_allowed') {
      sendJson(res, 405, { error: 'method_not_allowed', api: route.api.name }, { allow: route.allowed.join(', ') });
      return;
    }
    const api = config.apis.find((a) => a.definition === route.api)!;
    const definition = route.api;
    let certificate: AcceptedCertificate | undefined;
    let client = 'anonymous (unsecured operation)';
    if (route.operation.secured) {
      const decision = await authenticate(
        api,
        { certificate: found.certificate, bearer: bearerToken(req.headers.authorization) },
        { x509Bundles: this.#x509Bundles, jwtBundles: this.#jwtBundles },
      );
      if (!decision.ok) {
        this.#log(
          `Rejected ${method} ${url.pathname}: api=${definition.name} rule=${decision.rule} peer=${found.peer} reason=${JSON.stringify(decision.reason)}`,
        );
        const challenge: Record<string, string> =
          decision.rule === 'jwt_invalid'
            ? { 'www-authenticate': `Bearer error="invalid_token"` }
            : decision.rule === 'jwt_required'
              ? { 'www-authenticate': 'Bearer' }
              : {};
        sendJson(
          res,
          401,
          { error: 'unauthorized', rule: decision.rule, api: definition.name, message: RULE_MESSAGES[decision.rule] },
          challenge,
        );
        return;
      }
      certificate = decision.certificate;
      const who: string[] = [];
      if (certificate !== undefined) who.push(describeCertificate(certificate));
      if (decision.jwt !== undefined) who.push(`${decision.jwt.id.toString()} (JWT-SVID)`);
      client = who.join(' and ');
    }

    // The bearer token was issued for the gateway's audience: it is not handed on.
    if (definition.jwt !== undefined) delete req.headers.authorization;
    if (certificate !== undefined) req.headers[XFCC_HEADER] = this.#xfcc(certificate, config);
    req.url = `${route.remainder}${url.search}`;
    this.#log(`${method} ${url.pathname} -> ${definition.name}: ${client}`);
    this.#proxy.web(req, res, { target: definition.endpoint.href, agent: this.#agentFor(definition) }, (err: Error) => {
      this.#log(`Upstream error: api=${definition.name} endpoint=${definition.endpoint.href}: ${err.message}`);
      sendJson(res, 502, { error: 'bad_gateway', api: definition.name, message: 'the upstream could not be reached or authenticated' });
    });
  }

  #xfcc(certificate: AcceptedCertificate, config: GatewayConfig): string {
    return formatXfccElement({
      by: this.#svidSource.getX509Svid().id.toString(),
      hash: certificateHash(certificate.der),
      ...(config.forwardCert ? { cert: toPem(certificate.der) } : {}),
      uri: certificate.spiffeId === undefined ? [] : [certificate.spiffeId.toString()],
      dns: [],
    });
  }

  #agentFor(definition: ApiDefinition): http.Agent {
    const key = `${definition.endpoint.origin} ${definition.upstreamId?.toString() ?? ''}`;
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      agent =
        definition.upstreamId === undefined
          ? new http.Agent({ keepAlive: true })
          : createSpiffeHttpsAgent({
              svidSource: this.#svidSource,
              bundleSource: this.#x509Bundles,
              authorizer: authorizeId(definition.upstreamId),
              agentOptions: { keepAlive: true },
            });
      this.#agents.set(key, agent);
    }
    return agent;
  }
}
