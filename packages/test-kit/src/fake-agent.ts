/**
 * A scriptable fake SPIFFE Workload API agent for tests: a real `@grpc/grpc-js` server on a
 * temporary Unix domain socket, serving `SpiffeWorkloadAPI` from state the test sets, with fault
 * injection and a record of every call.
 *
 * The agent needs the Workload API's gRPC service definition, which this package (dependent on
 * no workspace package) does not have: a subclass binds one by overriding
 * {@link FakeAgent.serviceDefinition} (or {@link FakeAgent.serving} makes one). Tests outside the
 * library bind the definition {@link workloadApiService} loads from the library's public
 * `workload.proto`; the library's own tests bind its own codec
 * (`packages/spiffe/src/workloadapi/testing/fake-agent.ts`). The two decode alike: the library's
 * `protobuf-codec.test.ts` checks its codec against proto-loader with the options used here.
 *
 * Behaviour, like a SPIRE agent unless scripted otherwise:
 * - A request without the `workload.spiffe.io: true` metadata is answered `InvalidArgument`
 *   "security header missing from request" (turn off with `requireSecurityHeader: false`).
 * - `FetchX509SVID`, `FetchX509Bundles` and `FetchJWTBundles` are streams: the current response
 *   is sent at once, and again to every open stream whenever the test sets a new one. With no
 *   response set, the call is answered `PermissionDenied` "no identity issued".
 * - `FetchJWTSVID` mints tokens with the configured {@link FakeJwtIssuer} (or answers from a
 *   handler); `ValidateJWTSVID` verifies with the issuer's key (or answers from a handler).
 * - Faults: {@link FakeAgent.failNextCalls}, {@link FakeAgent.failAllCalls},
 *   {@link FakeAgent.endStreams}, {@link FakeAgent.failStreams}, {@link FakeAgent.stop} /
 *   {@link FakeAgent.restart} on the same socket.
 *
 * @example
 * ```ts
 * const FakeAgent = KitFakeAgent.serving(workloadApiService(require.resolve('@spiffe-node/spiffe/proto/workload.proto')));
 * const ca = TestCa.create({ trustDomain: 'example.org' });
 * const agent = await FakeAgent.start();
 * agent.setX509SvidResponse({ svids: [x509SvidMessage(ca.svid('/web'), [ca.certificate])] });
 * const client = new WorkloadApiClient({ address: agent.address });
 * const svid = await client.fetchX509Svid();
 * agent.callsTo('FetchX509SVID')[0]?.metadata['workload.spiffe.io']; // ['true']
 * await agent.close();
 * ```
 *
 * @module
 */
import { createPublicKey, sign, verify, type KeyObject, type X509Certificate } from 'node:crypto';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type {
  JwtBundlesResponseMessage,
  JwtSvidRequestMessage,
  JwtSvidResponseMessage,
  ProtoStruct,
  ProtoValue,
  ValidateJwtSvidRequestMessage,
  ValidateJwtSvidResponseMessage,
  X509BundlesResponseMessage,
  X509SvidMessage,
  X509SvidResponseMessage,
} from './messages.js';

export type * from './messages.js';

/**
 * The `SpiffeWorkloadAPI` service definition loaded from `protoPath` (the library's
 * `@spiffe-node/spiffe/proto/workload.proto`) by `@grpc/proto-loader`, with the options under
 * which it decodes as the library's own codec does (snake_case fields, `bytes` as `Buffer`,
 * defaults filled in).
 *
 * @example
 * ```ts
 * const service = workloadApiService(require.resolve('@spiffe-node/spiffe/proto/workload.proto'));
 * ```
 */
export function workloadApiService(protoPath: string): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(protoPath, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const service = definition['SpiffeWorkloadAPI'];
  if (service === undefined || !('FetchX509SVID' in service)) {
    throw new TypeError(`workloadApiService: ${protoPath} defines no SpiffeWorkloadAPI service`);
  }
  return service;
}

/**
 * The five Workload API methods.
 *
 * @example
 * ```ts
 * const m: WorkloadApiMethod = 'FetchX509SVID';
 * ```
 */
export type WorkloadApiMethod = 'FetchX509SVID' | 'FetchX509Bundles' | 'FetchJWTSVID' | 'FetchJWTBundles' | 'ValidateJWTSVID';

/** The streaming methods. */
type StreamMethod = 'FetchX509SVID' | 'FetchX509Bundles' | 'FetchJWTBundles';

/**
 * One call the fake agent received.
 *
 * @example
 * ```ts
 * const [call] = agent.callsTo('FetchJWTSVID');
 * call.metadata['workload.spiffe.io']; // ['true']
 * (call.request as JwtSvidRequestMessage).audience; // ['spiffe://example.org/db']
 * ```
 */
export interface RecordedCall {
  method: WorkloadApiMethod;
  /** The request metadata, every key lowercase, values as strings. */
  metadata: Record<string, string[]>;
  /** The decoded request message. */
  request: unknown;
  /** When the call arrived (`Date.now()`). */
  receivedAt: number;
}

/**
 * A gRPC status to answer with.
 *
 * @example
 * ```ts
 * const e: ScriptedError = { code: grpc.status.UNAVAILABLE, details: 'agent restarting' };
 * ```
 */
export interface ScriptedError {
  code: grpc.status;
  details?: string;
}

/**
 * Signs JWT-SVIDs for `FetchJWTSVID` (and verifies them for `ValidateJWTSVID`).
 *
 * @example
 * ```ts
 * const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
 * agent.setJwtIssuer({ ids: ['spiffe://example.org/web'], key: privateKey, kid: 'k1', ttlSeconds: 300 });
 * ```
 */
export interface FakeJwtIssuer {
  /** The caller's SPIFFE IDs; the first is the default. */
  ids: string[];
  /** The private signing key (EC P-256/P-384/P-521 or RSA). */
  key: KeyObject;
  /** The key ID put in the JOSE header. */
  kid: string;
  /** Token lifetime in seconds (default 300). */
  ttlSeconds?: number;
  /** Extra claims merged into every token. */
  extraClaims?: Record<string, unknown>;
}

/**
 * Answers `FetchJWTSVID` in place of the issuer: a response, or an error to fail with.
 *
 * @example
 * ```ts
 * agent.setJwtSvidHandler((req) => ({ svids: [{ spiffe_id: id, svid: mint(req.audience) }] }));
 * ```
 */
export type JwtSvidHandler = (
  request: JwtSvidRequestMessage,
) => JwtSvidResponseMessage | ScriptedError | Promise<JwtSvidResponseMessage | ScriptedError>;

/**
 * Answers `ValidateJWTSVID` in place of the issuer: a response, or an error to fail with.
 *
 * @example
 * ```ts
 * agent.setValidateJwtSvidHandler(() => ({ code: grpc.status.INVALID_ARGUMENT, details: 'bad token' }));
 * ```
 */
export type ValidateJwtSvidHandler = (
  request: ValidateJwtSvidRequestMessage,
) => ValidateJwtSvidResponseMessage | ScriptedError | Promise<ValidateJwtSvidResponseMessage | ScriptedError>;

/**
 * Options of {@link FakeAgent.start}.
 *
 * @example
 * ```ts
 * await FakeAgent.start({ requireSecurityHeader: false });
 * ```
 */
export interface FakeAgentOptions {
  /** The socket path; default: `agent.sock` in a new temporary directory. */
  socketPath?: string;
  /** Answer requests without `workload.spiffe.io: true` with InvalidArgument (default true). */
  requireSecurityHeader?: boolean;
}

const NO_IDENTITY: ScriptedError = { code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' };

function isScriptedError(value: unknown): value is ScriptedError {
  return typeof value === 'object' && value !== null && 'code' in value && typeof (value as ScriptedError).code === 'number';
}

function toServiceError(e: ScriptedError): Partial<grpc.StatusObject> {
  return { code: e.code, details: e.details ?? grpc.status[e.code] ?? 'error' };
}

/**
 * Concatenates the DER of certificates, as the Workload API carries them.
 *
 * @example
 * ```ts
 * const bundleDer = concatDer([ca.certificate]);
 * ```
 */
export function concatDer(certificates: readonly (X509Certificate | Uint8Array)[]): Buffer {
  return Buffer.concat(certificates.map((c) => ('raw' in c ? c.raw : Buffer.from(c))));
}

/**
 * Builds an `X509SVID` message from a minted SVID (anything with `certificates` and `keyDer`,
 * like `TestCa.svid()`), the CA certificates of its trust domain and optional overrides (to
 * build invalid messages).
 *
 * @example
 * ```ts
 * const msg = x509SvidMessage(ca.svid('/web'), [ca.certificate], { hint: 'internal' });
 * const bad = x509SvidMessage(ca.svid('/web'), [ca.certificate], { spiffe_id: 'spiffe://example.org/other' });
 * ```
 */
export function x509SvidMessage(
  svid: { id?: string; certificates: readonly X509Certificate[]; keyDer: Uint8Array },
  bundle: readonly (X509Certificate | Uint8Array)[],
  overrides: Partial<X509SvidMessage> = {},
): X509SvidMessage {
  const leafUri = svid.certificates[0]?.subjectAltName?.match(/URI:([^,\s]+)/)?.[1] ?? '';
  return {
    spiffe_id: svid.id ?? leafUri,
    x509_svid: concatDer(svid.certificates),
    x509_svid_key: Buffer.from(svid.keyDer),
    bundle: concatDer(bundle),
    hint: '',
    ...overrides,
  };
}

/**
 * Builds a JWK Set (JSON bytes) from public keys keyed by key ID, as `JWTBundlesResponse` values
 * carry them.
 *
 * @example
 * ```ts
 * agent.setJwtBundlesResponse({ bundles: { 'spiffe://example.org': jwksBytes(new Map([['k1', pub]])) } });
 * ```
 */
export function jwksBytes(keys: ReadonlyMap<string, KeyObject>): Buffer {
  const jwks = {
    keys: [...keys].map(([kid, key]) => ({
      ...(key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' }),
      kid,
      use: 'jwt-svid',
    })),
  };
  return Buffer.from(JSON.stringify(jwks));
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function signingParams(key: KeyObject): { alg: string; hash: string; dsaEncoding?: 'ieee-p1363' } {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'secp384r1') return { alg: 'ES384', hash: 'sha384', dsaEncoding: 'ieee-p1363' };
    if (curve === 'secp521r1') return { alg: 'ES512', hash: 'sha512', dsaEncoding: 'ieee-p1363' };
    return { alg: 'ES256', hash: 'sha256', dsaEncoding: 'ieee-p1363' };
  }
  if (key.asymmetricKeyType === 'rsa') return { alg: 'RS256', hash: 'sha256' };
  throw new TypeError(`FakeAgent: unsupported JWT signing key type ${key.asymmetricKeyType}`);
}

/**
 * Signs a JWT with `key` (ES256/384/512 or RS256 by key type).
 *
 * @example
 * ```ts
 * const token = signJwt({ sub: 'spiffe://example.org/web', aud: ['a'], exp: now + 300 }, key, 'k1');
 * ```
 */
export function signJwt(claims: Record<string, unknown>, key: KeyObject, kid: string): string {
  const { alg, hash, dsaEncoding } = signingParams(key);
  const header = base64url(JSON.stringify({ alg, kid, typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const input = `${header}.${payload}`;
  const signature = sign(hash, Buffer.from(input), dsaEncoding ? { key, dsaEncoding } : key);
  return `${input}.${base64url(signature)}`;
}

function toProtoValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { nullValue: 0 };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toProtoValue) } };
  return { structValue: toProtoStruct(value as Record<string, unknown>) };
}

function toProtoStruct(obj: Record<string, unknown>): ProtoStruct {
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, toProtoValue(v)])) };
}

/**
 * The fake agent. Create with {@link FakeAgent.start}; always {@link FakeAgent.close} it.
 *
 * @example
 * ```ts
 * const agent = await FakeAgent.start();
 * agent.failNextCalls('FetchX509SVID', { code: grpc.status.UNAVAILABLE }, 2);
 * agent.setX509SvidResponse(response);
 * await agent.waitForCalls('FetchX509SVID', 3);
 * await agent.close();
 * ```
 */
export class FakeAgent {
  /** The socket path the agent listens on. */
  readonly socketPath: string;
  /** The Workload API address of the agent, `unix://<socketPath>`. */
  readonly address: string;

  readonly #ownedDir: string | undefined;
  readonly #requireHeader: boolean;
  readonly #service: grpc.ServiceDefinition;
  #server: grpc.Server | undefined;
  #calls: RecordedCall[] = [];
  #callWaiters = new Set<() => void>();
  #streams: Record<StreamMethod, Set<grpc.ServerWritableStream<unknown, unknown>>> = {
    FetchX509SVID: new Set(),
    FetchX509Bundles: new Set(),
    FetchJWTBundles: new Set(),
  };
  #x509Svid: X509SvidResponseMessage | undefined;
  #x509Bundles: X509BundlesResponseMessage | undefined;
  #jwtBundles: JwtBundlesResponseMessage | undefined;
  #jwtIssuer: FakeJwtIssuer | undefined;
  #jwtSvidHandler: JwtSvidHandler | undefined;
  #validateHandler: ValidateJwtSvidHandler | undefined;
  #failNext: Record<WorkloadApiMethod, ScriptedError[]> = {
    FetchX509SVID: [],
    FetchX509Bundles: [],
    FetchJWTSVID: [],
    FetchJWTBundles: [],
    ValidateJWTSVID: [],
  };
  #failAll: Partial<Record<WorkloadApiMethod, ScriptedError>> = {};

  protected constructor(socketPath: string, ownedDir: string | undefined, requireHeader: boolean, service: grpc.ServiceDefinition) {
    this.socketPath = socketPath;
    this.#service = service;
    this.address = `unix://${socketPath}`;
    this.#ownedDir = ownedDir;
    this.#requireHeader = requireHeader;
  }

  /**
   * Starts a fake agent listening on a new temporary socket (or `options.socketPath`).
   *
   * @example
   * ```ts
   * const agent = await FakeAgent.start();
   * process.env.SPIFFE_ENDPOINT_SOCKET = agent.address;
   * ```
   */
  static async start<C extends typeof FakeAgent>(this: C, options: FakeAgentOptions = {}): Promise<C['prototype']> {
    const service = this.serviceDefinition();
    let socketPath = options.socketPath;
    let ownedDir: string | undefined;
    if (socketPath === undefined) {
      ownedDir = await mkdtemp(join(tmpdir(), 'spiffe-fake-agent-'));
      socketPath = join(ownedDir, 'agent.sock');
    }
    const agent = new this(socketPath, ownedDir, options.requireSecurityHeader ?? true, service);
    await agent.restart();
    return agent;
  }

  /**
   * The Workload API service definition the agent serves. A subclass binds one (see the module
   * documentation); this class alone has none.
   *
   * @throws TypeError always, here.
   */
  protected static serviceDefinition(): grpc.ServiceDefinition {
    throw new TypeError(
      'FakeAgent: no Workload API service definition; start a subclass that overrides serviceDefinition(), ' +
        "e.g. with workloadApiService(require.resolve('@spiffe-node/spiffe/proto/workload.proto'))",
    );
  }

  /**
   * A subclass of this agent that serves `service`.
   *
   * @example
   * ```ts
   * const require = createRequire(import.meta.url);
   * export const FakeAgent = KitFakeAgent.serving(workloadApiService(require.resolve('@spiffe-node/spiffe/proto/workload.proto')));
   * export type FakeAgent = KitFakeAgent;
   * ```
   */
  static serving(service: grpc.ServiceDefinition): typeof FakeAgent {
    return class extends this {
      protected static override serviceDefinition(): grpc.ServiceDefinition {
        return service;
      }
    };
  }

  /** Whether the server is currently listening. */
  get running(): boolean {
    return this.#server !== undefined;
  }

  // ----------------------------------------------------------------------------------- state

  /**
   * Sets the `FetchX509SVID` response: sent at once to every open stream and to every new one.
   * `undefined` makes new calls fail `PermissionDenied` (open streams keep going; use
   * {@link FakeAgent.failStreams} to end them).
   */
  setX509SvidResponse(response: X509SvidResponseMessage | undefined): void {
    this.#x509Svid = response;
    if (response) this.#push('FetchX509SVID', response);
  }

  /** Sets the `FetchX509Bundles` response, pushed like {@link FakeAgent.setX509SvidResponse}. */
  setX509BundlesResponse(response: X509BundlesResponseMessage | undefined): void {
    this.#x509Bundles = response;
    if (response) this.#push('FetchX509Bundles', response);
  }

  /** Sets the `FetchJWTBundles` response, pushed like {@link FakeAgent.setX509SvidResponse}. */
  setJwtBundlesResponse(response: JwtBundlesResponseMessage | undefined): void {
    this.#jwtBundles = response;
    if (response) this.#push('FetchJWTBundles', response);
  }

  /** Sets the issuer that mints `FetchJWTSVID` tokens and verifies `ValidateJWTSVID` ones. */
  setJwtIssuer(issuer: FakeJwtIssuer | undefined): void {
    this.#jwtIssuer = issuer;
  }

  /** Answers `FetchJWTSVID` with `handler` instead of the issuer (`undefined` to go back). */
  setJwtSvidHandler(handler: JwtSvidHandler | undefined): void {
    this.#jwtSvidHandler = handler;
  }

  /** Answers `ValidateJWTSVID` with `handler` instead of the issuer (`undefined` to go back). */
  setValidateJwtSvidHandler(handler: ValidateJwtSvidHandler | undefined): void {
    this.#validateHandler = handler;
  }

  /**
   * Withdraws the caller's identity the way SPIRE does when its registration entry goes away:
   * every open stream ends with `PermissionDenied` "no identity issued", and so do new calls.
   */
  withdrawIdentity(): void {
    this.#x509Svid = undefined;
    this.#x509Bundles = undefined;
    this.#jwtBundles = undefined;
    this.#jwtIssuer = undefined;
    this.#jwtSvidHandler = undefined;
    for (const method of Object.keys(this.#streams) as StreamMethod[]) this.failStreams(method, NO_IDENTITY);
  }

  // ---------------------------------------------------------------------------------- faults

  /** Fails the next `count` calls of `method` with `error` (queued before any other answer). */
  failNextCalls(method: WorkloadApiMethod, error: ScriptedError, count = 1): void {
    for (let i = 0; i < count; i++) this.#failNext[method].push(error);
  }

  /** Fails every call of `method` with `error` until called again with `undefined`. */
  failAllCalls(method: WorkloadApiMethod, error: ScriptedError | undefined): void {
    if (error) this.#failAll[method] = error;
    else delete this.#failAll[method];
  }

  /** Ends the open streams of `method` (all stream methods when omitted) with status OK. */
  endStreams(method?: StreamMethod): void {
    for (const m of method ? [method] : (Object.keys(this.#streams) as StreamMethod[])) {
      for (const call of [...this.#streams[m]]) {
        this.#streams[m].delete(call);
        call.end();
      }
    }
  }

  /** Ends the open streams of `method` with `error`. */
  failStreams(method: StreamMethod, error: ScriptedError): void {
    for (const call of [...this.#streams[method]]) {
      this.#streams[method].delete(call);
      call.emit('error', toServiceError(error));
    }
  }

  /** The number of streams of `method` currently open. */
  openStreams(method: StreamMethod): number {
    return this.#streams[method].size;
  }

  // --------------------------------------------------------------------------------- records

  /** Every call received, in order. */
  get calls(): readonly RecordedCall[] {
    return this.#calls;
  }

  /** The calls of one method, in order. */
  callsTo(method: WorkloadApiMethod): RecordedCall[] {
    return this.#calls.filter((c) => c.method === method);
  }

  /** Forgets the recorded calls. */
  clearCalls(): void {
    this.#calls = [];
  }

  /**
   * Resolves once `method` has been called at least `count` times in total; rejects after
   * `timeoutMs` (default 5000).
   */
  async waitForCalls(method: WorkloadApiMethod, count: number, timeoutMs = 5000): Promise<RecordedCall[]> {
    await this.#waitUntil(
      () => this.callsTo(method).length >= count,
      timeoutMs,
      () => `FakeAgent: ${method} called ${this.callsTo(method).length} times, waited for ${count}`,
    );
    return this.callsTo(method);
  }

  /** Resolves once `count` streams of `method` are open; rejects after `timeoutMs` (default 5000). */
  async waitForOpenStreams(method: StreamMethod, count: number, timeoutMs = 5000): Promise<void> {
    await this.#waitUntil(
      () => this.openStreams(method) >= count,
      timeoutMs,
      () => `FakeAgent: ${this.openStreams(method)} ${method} streams open, waited for ${count}`,
    );
  }

  // ------------------------------------------------------------------------------- lifecycle

  /**
   * Stops the server at once: open streams are cut (the client sees them fail), the socket is
   * removed. The scripted state and the call record are kept for {@link FakeAgent.restart}.
   */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const set of Object.values(this.#streams)) set.clear();
    server.forceShutdown();
    await unlink(this.socketPath).catch(() => undefined);
  }

  /** Starts listening again on the same socket (stopping first if running). */
  async restart(): Promise<void> {
    await this.stop();
    await unlink(this.socketPath).catch(() => undefined);
    const server = new grpc.Server();
    server.addService(this.#service, this.#handlers());
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix://${this.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
    this.#server = server;
  }

  /** Stops the server and removes the temporary directory it created. */
  async close(): Promise<void> {
    await this.stop();
    for (const waiter of this.#callWaiters) waiter();
    if (this.#ownedDir) await rm(this.#ownedDir, { recursive: true, force: true });
  }

  // -------------------------------------------------------------------------------- internals

  #waitUntil(done: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (done()) {
          clearTimeout(timer);
          this.#callWaiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.#callWaiters.delete(check);
        reject(new Error(describe()));
      }, timeoutMs);
      this.#callWaiters.add(check);
    });
  }

  #notify(): void {
    for (const waiter of [...this.#callWaiters]) waiter();
  }

  #push(method: StreamMethod, response: unknown): void {
    for (const call of this.#streams[method]) call.write(response);
  }

  /** Records the call and returns the error to answer with, if any. */
  #admit(method: WorkloadApiMethod, call: { metadata: grpc.Metadata; request?: unknown }): ScriptedError | undefined {
    const metadata: Record<string, string[]> = {};
    for (const key of Object.keys(call.metadata.getMap())) {
      metadata[key.toLowerCase()] = call.metadata.get(key).map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
    }
    this.#calls.push({ method, metadata, request: call.request, receivedAt: Date.now() });
    queueMicrotask(() => this.#notify());
    if (this.#requireHeader && metadata['workload.spiffe.io']?.[0] !== 'true') {
      return { code: grpc.status.INVALID_ARGUMENT, details: 'security header missing from request' };
    }
    const next = this.#failNext[method].shift();
    if (next) return next;
    return this.#failAll[method];
  }

  #stream(method: StreamMethod, current: () => unknown): grpc.handleServerStreamingCall<unknown, unknown> {
    return (call) => {
      const error = this.#admit(method, call);
      if (error) {
        call.emit('error', toServiceError(error));
        return;
      }
      const response = current();
      if (response === undefined) {
        call.emit('error', toServiceError(NO_IDENTITY));
        return;
      }
      const set = this.#streams[method];
      set.add(call);
      const forget = (): void => {
        if (set.delete(call)) this.#notify();
      };
      call.on('cancelled', forget);
      call.on('close', forget);
      call.on('finish', forget);
      call.write(response);
      this.#notify();
    };
  }

  #handlers(): grpc.UntypedServiceImplementation {
    return {
      FetchX509SVID: this.#stream('FetchX509SVID', () => this.#x509Svid),
      FetchX509Bundles: this.#stream('FetchX509Bundles', () => this.#x509Bundles),
      FetchJWTBundles: this.#stream('FetchJWTBundles', () => this.#jwtBundles),
      FetchJWTSVID: (
        call: grpc.ServerUnaryCall<JwtSvidRequestMessage, JwtSvidResponseMessage>,
        callback: grpc.sendUnaryData<JwtSvidResponseMessage>,
      ) => {
        const error = this.#admit('FetchJWTSVID', call);
        if (error) return callback(toServiceError(error));
        void this.#answerJwtSvid(call.request).then(
          (answer) => (isScriptedError(answer) ? callback(toServiceError(answer)) : callback(null, answer)),
          (err: Error) => callback({ code: grpc.status.INTERNAL, details: err.message }),
        );
      },
      ValidateJWTSVID: (
        call: grpc.ServerUnaryCall<ValidateJwtSvidRequestMessage, ValidateJwtSvidResponseMessage>,
        callback: grpc.sendUnaryData<ValidateJwtSvidResponseMessage>,
      ) => {
        const error = this.#admit('ValidateJWTSVID', call);
        if (error) return callback(toServiceError(error));
        void this.#answerValidate(call.request).then(
          (answer) => (isScriptedError(answer) ? callback(toServiceError(answer)) : callback(null, answer)),
          (err: Error) => callback({ code: grpc.status.INTERNAL, details: err.message }),
        );
      },
    };
  }

  async #answerJwtSvid(request: JwtSvidRequestMessage): Promise<JwtSvidResponseMessage | ScriptedError> {
    if (request.audience.length === 0) {
      return { code: grpc.status.INVALID_ARGUMENT, details: 'audience must be specified' };
    }
    if (this.#jwtSvidHandler) return this.#jwtSvidHandler(request);
    const issuer = this.#jwtIssuer;
    if (!issuer) return NO_IDENTITY;
    const ids = request.spiffe_id === '' ? issuer.ids : issuer.ids.filter((id) => id === request.spiffe_id);
    if (ids.length === 0) return NO_IDENTITY;
    const now = Math.floor(Date.now() / 1000);
    const ttl = issuer.ttlSeconds ?? 300;
    return {
      svids: ids.map((id) => ({
        spiffe_id: id,
        svid: signJwt({ ...issuer.extraClaims, sub: id, aud: request.audience, iat: now, exp: now + ttl }, issuer.key, issuer.kid),
        hint: '',
      })),
    };
  }

  async #answerValidate(request: ValidateJwtSvidRequestMessage): Promise<ValidateJwtSvidResponseMessage | ScriptedError> {
    if (this.#validateHandler) return this.#validateHandler(request);
    if (request.audience === '') return { code: grpc.status.INVALID_ARGUMENT, details: 'audience must be specified' };
    if (request.svid === '') return { code: grpc.status.INVALID_ARGUMENT, details: 'svid must be specified' };
    const issuer = this.#jwtIssuer;
    if (!issuer) return NO_IDENTITY;
    const invalid = (why: string): ScriptedError => ({ code: grpc.status.INVALID_ARGUMENT, details: why });
    const parts = request.svid.split('.');
    if (parts.length !== 3) return invalid('malformed token');
    const [header, payload, signature] = parts as [string, string, string];
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return invalid('malformed token');
    }
    const { hash, dsaEncoding } = signingParams(issuer.key);
    const publicKey = createPublicKey(issuer.key);
    const ok = verify(
      hash,
      Buffer.from(`${header}.${payload}`),
      dsaEncoding ? { key: publicKey, dsaEncoding } : publicKey,
      Buffer.from(signature, 'base64url'),
    );
    if (!ok) return invalid('token signature is invalid');
    const aud = Array.isArray(claims['aud']) ? claims['aud'] : [claims['aud']];
    if (!aud.includes(request.audience)) return invalid(`expected audience in ${JSON.stringify(aud)}`);
    if (typeof claims['exp'] !== 'number' || claims['exp'] * 1000 <= Date.now()) return invalid('token has expired');
    return { spiffe_id: String(claims['sub']), claims: toProtoStruct(claims) };
  }
}
