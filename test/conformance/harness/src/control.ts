/**
 * The control port (harness contract v1 §4): plain HTTP/1.1 on 127.0.0.1 that makes the SDK
 * validate a JWT-SVID, fetch JWT-SVIDs, or dial a TLS server as an mTLS client. Every decision
 * is the SDK's: this module only turns requests into public API calls of
 * `@spiffe-node/spiffe` and their results into the response envelope.
 *
 * @module
 */
import { createRequire } from 'node:module';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import {
  SpiffeError,
  SpiffeId,
  WorkloadApiError,
  authorizeAny,
  dial,
  parseAndValidateJwtSvid,
  peerIdFromSocket,
  type JwtSource,
  type WorkloadApiClient,
  type X509Source,
} from '@spiffe-node/spiffe';
import { BadRequest, readJsonObject, sendJson, sendOutcome } from './envelope.js';
import { errorText, log } from './log.js';

/**
 * What the control endpoints use of the SDK, as the harness's start-up provides it.
 *
 * @example
 * ```ts
 * const sdk: ControlSdk = { client, x509Source: () => x509, jwtSource: () => jwtReady };
 * ```
 */
export interface ControlSdk {
  /** The Workload API client (for `FetchJWTSVID`). */
  client: WorkloadApiClient;
  /** The X509Source once it holds an SVID; `undefined` before. */
  x509Source(): X509Source | undefined;
  /** Resolves with the JwtSource once it holds JWT bundles (rejects if it failed to start). */
  jwtSource(): Promise<JwtSource>;
}

/** How long a validation waits for the JWT bundles to arrive before answering `error`. */
const JWT_SOURCE_WAIT_MS = 5000;
/** How long a dial may take. */
const DIAL_TIMEOUT_MS = 8000;

function sdkVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    const pkg = require('@spiffe-node/spiffe/package.json') as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Whether `err` is the SDK refusing its input (a bad token, an untrusted peer), as opposed to
 * the operation failing (no SVID yet, Workload API unreachable, a closed source).
 */
function isRejection(err: unknown): boolean {
  return err instanceof SpiffeError && !(err instanceof WorkloadApiError);
}

function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw new BadRequest(`bad request: "${field}" must be a non-empty string`);
  return value;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** `POST /v1/jwt/validate`: local validation against the JWT bundles of the JwtSource. */
async function validateJwt(sdk: ControlSdk, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const token = body['token'];
  if (typeof token !== 'string') throw new BadRequest('bad request: "token" must be a string');
  const audience = requireString(body, 'audience');
  let source: JwtSource;
  try {
    source = await withTimeout(sdk.jwtSource(), JWT_SOURCE_WAIT_MS, 'the JwtSource received no JWT bundles');
  } catch (err) {
    sendOutcome(res, 'error', { message: `no JWT bundles to validate with: ${errorText(err)}` });
    return;
  }
  try {
    const svid = await parseAndValidateJwtSvid(token, source, [audience]);
    sendOutcome(res, 'ok', { spiffe_id: svid.id.toString(), claims: svid.claims });
  } catch (err) {
    if (!isRejection(err)) throw err;
    sendOutcome(res, 'rejected', { message: errorText(err) });
  }
}

/** `POST /v1/jwt/fetch`: `FetchJWTSVID` through the client, `spiffe_id` passed through. */
async function fetchJwt(sdk: ControlSdk, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const audience = body['audience'];
  if (!Array.isArray(audience) || audience.length === 0 || audience.some((a) => typeof a !== 'string' || a === '')) {
    throw new BadRequest('bad request: "audience" must be a non-empty array of non-empty strings');
  }
  const requested = body['spiffe_id'];
  if (requested !== undefined && requested !== null && typeof requested !== 'string') {
    throw new BadRequest('bad request: "spiffe_id" must be a string');
  }
  let subject: SpiffeId | undefined;
  if (typeof requested === 'string' && requested !== '') {
    try {
      subject = SpiffeId.fromString(requested);
    } catch (err) {
      throw new BadRequest(`bad request: "spiffe_id" is not a SPIFFE ID: ${errorText(err)}`);
    }
  }
  const svids = await sdk.client.fetchJwtSvids(subject ? { audience: audience as string[], subject } : { audience: audience as string[] });
  sendOutcome(res, 'ok', {
    svids: svids.map((s) => ({ spiffe_id: s.id.toString(), token: s.token, hint: s.hint })),
  });
}

/** Splits `host:port` (`[v6]:port` for IPv6). */
function parseAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BadRequest(`bad request: "address" must be host:port, got ${JSON.stringify(address)}`);
  }
  if (match?.[1] !== undefined && isIP(host) !== 6) throw new BadRequest(`bad request: ${host} is not an IPv6 address`);
  return { host, port };
}

/** `POST /v1/x509/dial`: the SDK as mTLS client, authorizing any server SPIFFE ID. */
async function dialX509(sdk: ControlSdk, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const { host, port } = parseAddress(requireString(body, 'address'));
  const source = sdk.x509Source();
  if (source === undefined) {
    sendOutcome(res, 'error', { message: 'the X509Source holds no SVID yet' });
    return;
  }
  try {
    const socket = await dial({
      host,
      port,
      svidSource: source,
      bundleSource: source,
      authorizer: authorizeAny(),
      timeoutMs: DIAL_TIMEOUT_MS,
    });
    const id = peerIdFromSocket(socket);
    socket.on('error', () => undefined);
    socket.end();
    if (id === undefined) throw new Error('dial resolved without a verified server ID');
    sendOutcome(res, 'ok', { spiffe_id: id.toString() });
  } catch (err) {
    if (!isRejection(err)) throw err;
    log(`dial ${host}:${port}: server rejected: ${errorText(err)}`);
    sendOutcome(res, 'rejected', { message: errorText(err) });
  }
}

type Handler = (sdk: ControlSdk, body: Record<string, unknown>, res: ServerResponse) => Promise<void>;

const POST_ROUTES: Readonly<Record<string, Handler>> = {
  '/v1/jwt/validate': validateJwt,
  '/v1/jwt/fetch': fetchJwt,
  '/v1/x509/dial': dialX509,
};

async function route(sdk: ControlSdk, info: Record<string, unknown>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://harness').pathname;
  if (path === '/v1/info') {
    if (req.method !== 'GET') {
      sendOutcome(res, 'error', { message: `${req.method} ${path}: use GET` });
      return;
    }
    sendJson(res, 200, info);
    return;
  }
  const handler = POST_ROUTES[path];
  if (handler === undefined) {
    sendJson(res, 404, { status: 'error', message: `no endpoint ${path}` });
    return;
  }
  if (req.method !== 'POST') {
    sendOutcome(res, 'error', { message: `${req.method} ${path}: use POST` });
    return;
  }
  try {
    await handler(sdk, await readJsonObject(req), res);
  } catch (err) {
    log(`${path}: error: ${errorText(err)}`);
    if (!res.headersSent) sendOutcome(res, 'error', { message: errorText(err) });
  }
}

/**
 * Creates the control server (not yet listening).
 *
 * @example
 * ```ts
 * const control = createControlServer(sdk);
 * control.listen(0, '127.0.0.1');
 * ```
 */
export function createControlServer(sdk: ControlSdk): http.Server {
  const info = { sdk: '@spiffe-node/spiffe', sdk_version: sdkVersion(), language: 'typescript' };
  const server = http.createServer((req, res) => {
    route(sdk, info, req, res).catch((err: unknown) => {
      log(`control: ${errorText(err)}`);
      if (!res.headersSent) sendOutcome(res, 'error', { message: errorText(err) });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  return server;
}
