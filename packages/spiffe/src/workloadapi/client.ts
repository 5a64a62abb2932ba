/**
 * The SPIFFE Workload API client.
 *
 * @module
 */
import { SourceClosedError, WorkloadApiError } from '../errors.js';
import { SpiffeId } from '../spiffeid/index.js';
import type { X509BundleSet } from '../bundle/x509-bundle-set.js';
import type { JwtBundleSet } from '../bundle/jwt-bundle-set.js';
import type { X509Svid } from '../svid/x509/index.js';
import { parseInsecureJwtSvid, type JwtSvid, type JwtSvidParams } from '../svid/jwt/index.js';
import { describeWorkloadApiAddress, resolveWorkloadApiAddress, type WorkloadApiAddress } from './address.js';
import { Backoff, sleep } from './backoff.js';
import { defaultWorkloadApiLogger, safeLog, type WorkloadApiLogger } from './logger.js';
import type {
  JwtBundlesResponseMessage,
  JwtSvidRequestMessage,
  JwtSvidResponseMessage,
  ValidateJwtSvidRequestMessage,
  ValidateJwtSvidResponseMessage,
  X509BundlesResponseMessage,
  X509SvidResponseMessage,
} from './messages.js';
import { decodeMessage, encodeMessage } from './protobuf-codec.js';
import { MESSAGES, type MessageName } from './schema.js';
import { GrpcCallError, GrpcHttp2Channel, GrpcStatus, type GrpcCall, type GrpcCallStatus } from './grpc-http2.js';
import {
  parseJwtBundlesResponse,
  parseJwtSvidResponse,
  parseX509BundlesResponse,
  parseX509SvidResponse,
  type X509Context,
} from './responses.js';
import { fromGrpcError, grpcStatusName, isTerminalStatus } from './status.js';

/** The metadata every Workload API request carries. */
const SECURITY_METADATA: Readonly<Record<string, string>> = Object.freeze({ 'workload.spiffe.io': 'true' });

/**
 * Options of {@link WorkloadApiClient}.
 *
 * @example
 * ```ts
 * const options: WorkloadApiClientOptions = {
 *   address: 'unix:///tmp/spire-agent/public/api.sock',
 *   initialBackoffMs: 500,
 *   maxBackoffMs: 10_000,
 * };
 * ```
 */
export interface WorkloadApiClientOptions {
  /** The endpoint (`unix:///path` or `tcp://IP:port`); `SPIFFE_ENDPOINT_SOCKET` when absent. */
  address?: string;
  /** Where to report discarded SVIDs, failures and retries (default: warnings/errors to stderr). */
  logger?: WorkloadApiLogger;
  /** The first delay before re-opening a failed watch stream, in ms (default 1000). */
  initialBackoffMs?: number;
  /** The longest delay between attempts, in ms (default 30000). */
  maxBackoffMs?: number;
}

/**
 * Receives the X.509 context (SVIDs and bundles) each time the agent sends a new one.
 *
 * @example
 * ```ts
 * const watcher: X509ContextWatcher = {
 *   onX509ContextUpdate: (ctx) => console.log(`now ${ctx.svids[0]?.id}`),
 *   onX509ContextWatchError: (err) => console.warn(err.message),
 * };
 * ```
 */
export interface X509ContextWatcher {
  /** A new, validated X.509 context. */
  onX509ContextUpdate(context: X509Context): void;
  /** A failure: a stream error (retried unless terminal) or a response that was refused. */
  onX509ContextWatchError(error: WorkloadApiError): void;
}

/**
 * Receives the X.509 bundles each time the agent sends new ones.
 *
 * @example
 * ```ts
 * const watcher: X509BundlesWatcher = {
 *   onX509BundlesUpdate: (set) => console.log(`${set.size} trust domains`),
 *   onX509BundlesWatchError: (err) => console.warn(err.message),
 * };
 * ```
 */
export interface X509BundlesWatcher {
  onX509BundlesUpdate(bundles: X509BundleSet): void;
  onX509BundlesWatchError(error: WorkloadApiError): void;
}

/**
 * Receives the JWT bundles each time the agent sends new ones.
 *
 * @example
 * ```ts
 * const watcher: JwtBundlesWatcher = {
 *   onJwtBundlesUpdate: (set) => console.log(`${set.size} trust domains`),
 *   onJwtBundlesWatchError: (err) => console.warn(err.message),
 * };
 * ```
 */
export interface JwtBundlesWatcher {
  onJwtBundlesUpdate(bundles: JwtBundleSet): void;
  onJwtBundlesWatchError(error: WorkloadApiError): void;
}

type StreamMethod = 'FetchX509SVID' | 'FetchX509Bundles' | 'FetchJWTBundles';
type UnaryMethod = 'FetchJWTSVID' | 'ValidateJWTSVID';

/** Request and response message of each method of `SpiffeWorkloadAPI`. */
const METHOD_MESSAGES: Readonly<Record<StreamMethod | UnaryMethod, readonly [MessageName, MessageName]>> = {
  FetchX509SVID: ['X509SVIDRequest', 'X509SVIDResponse'],
  FetchX509Bundles: ['X509BundlesRequest', 'X509BundlesResponse'],
  FetchJWTSVID: ['JWTSVIDRequest', 'JWTSVIDResponse'],
  FetchJWTBundles: ['JWTBundlesRequest', 'JWTBundlesResponse'],
  ValidateJWTSVID: ['ValidateJWTSVIDRequest', 'ValidateJWTSVIDResponse'],
};

type StreamOutcome = { kind: 'aborted' } | { kind: 'ended' } | { kind: 'failed'; error: GrpcCallError };

function normalizeAudience(audience: unknown, where: string): string[] {
  const list = typeof audience === 'string' ? [audience] : audience;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(`${where}: audience must be a non-empty string or a non-empty array of strings`);
  }
  for (const a of list) {
    if (typeof a !== 'string' || a === '') {
      throw new TypeError(`${where}: every audience must be a non-empty string`);
    }
  }
  return [...new Set(list as string[])];
}

function checkSubject(subject: unknown, where: string): SpiffeId | undefined {
  if (subject === undefined) return undefined;
  if (!(subject instanceof SpiffeId)) throw new TypeError(`${where}: subject must be a SpiffeId`);
  return subject;
}

function checkBackoff(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`WorkloadApiClient: ${name} must be a positive number of milliseconds`);
  }
  return value;
}

function checkWatcher(watcher: unknown, methods: string[], where: string): void {
  if (typeof watcher !== 'object' || watcher === null) throw new TypeError(`${where}: expected a watcher object`);
  for (const m of methods) {
    if (typeof (watcher as Record<string, unknown>)[m] !== 'function') {
      throw new TypeError(`${where}: the watcher has no ${m} method`);
    }
  }
}

function checkSignal(signal: unknown, where: string): AbortSignal {
  if (!(signal instanceof AbortSignal)) throw new TypeError(`${where}: expected an AbortSignal`);
  return signal;
}

/**
 * A client of the SPIFFE Workload API (a SPIRE agent or any other implementation), over gRPC on
 * a Unix domain socket or TCP.
 *
 * - Every request carries the `workload.spiffe.io: true` metadata.
 * - Every response is validated before use. An SVID with an empty mandatory field, a key that
 *   does not match its leaf, a `spiffe_id` that differs from its certificate's URI SAN, an
 *   expired leaf, or a certificate that is not a valid X509-SVID is discarded with one logged
 *   reason and never served; a response with no usable SVID is refused as a whole.
 * - `fetch*` methods make one attempt. `watch*` methods keep a stream open, re-open it after a
 *   failure or a normal end with exponential backoff and jitter (reset after each good message),
 *   and stop only when aborted, when the client is closed, or on `InvalidArgument` /
 *   `Unimplemented` (which are delivered to the watcher and reject the returned promise).
 *
 * Most programs use {@link X509Source}, {@link JwtSource} or {@link BundleSource} instead, which
 * keep the latest state at hand.
 *
 * @example
 * ```ts
 * import { WorkloadApiClient } from '@spiffe-node/spiffe/workloadapi';
 * const client = new WorkloadApiClient({ address: 'unix:///tmp/spire-agent/public/api.sock' });
 * try {
 *   const svid = await client.fetchX509Svid();
 *   console.log(svid.id.toString());
 *   const jwt = await client.fetchJwtSvid({ audience: 'spiffe://example.org/db' });
 *   console.log(jwt.token);
 * } finally {
 *   client.close();
 * }
 * ```
 */
export class WorkloadApiClient {
  /** The endpoint this client talks to. */
  readonly address: WorkloadApiAddress;
  /** The logger this client reports through. */
  readonly logger: WorkloadApiLogger;

  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #channel: GrpcHttp2Channel;
  readonly #closed = new AbortController();
  readonly #calls = new Set<GrpcCall>();

  /**
   * Creates a client. No connection is made until the first call.
   *
   * @throws {@link WorkloadApiError} `ERR_WORKLOADAPI_ADDRESS` when the address (or
   *   `SPIFFE_ENDPOINT_SOCKET`) is missing or invalid.
   * @example
   * ```ts
   * const client = new WorkloadApiClient(); // reads SPIFFE_ENDPOINT_SOCKET
   * ```
   */
  constructor(options: WorkloadApiClientOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('WorkloadApiClient: options must be an object');
    }
    this.#initialBackoffMs = checkBackoff(options.initialBackoffMs, 'initialBackoffMs', 1000);
    this.#maxBackoffMs = checkBackoff(options.maxBackoffMs, 'maxBackoffMs', Math.max(30_000, this.#initialBackoffMs));
    if (this.#maxBackoffMs < this.#initialBackoffMs) {
      throw new TypeError('WorkloadApiClient: maxBackoffMs must not be less than initialBackoffMs');
    }
    this.logger = options.logger ?? defaultWorkloadApiLogger;
    this.address = resolveWorkloadApiAddress(options.address);
    this.#channel = new GrpcHttp2Channel(this.address);
  }

  /** Whether {@link WorkloadApiClient.close} has been called. */
  get closed(): boolean {
    return this.#closed.signal.aborted;
  }

  /**
   * Closes the connection and ends every call and watch of this client (watches resolve).
   * Idempotent.
   *
   * @example
   * ```ts
   * client.close();
   * ```
   */
  close(): void {
    if (this.closed) return;
    this.#closed.abort();
    for (const call of [...this.#calls]) call.cancel();
    this.#calls.clear();
    this.#channel.close();
  }

  // --------------------------------------------------------------------------------- X.509

  /**
   * Fetches the default X509-SVID (the first usable one the agent lists).
   *
   * @throws {@link WorkloadApiError} on a failed call or a response without a usable SVID.
   * @example
   * ```ts
   * const svid = await client.fetchX509Svid();
   * const { certificates, privateKey } = svid.marshal();
   * ```
   */
  async fetchX509Svid(): Promise<X509Svid> {
    const ctx = await this.fetchX509Context();
    return ctx.svids[0] as X509Svid;
  }

  /**
   * Fetches every usable X509-SVID of this workload, the default first.
   *
   * @example
   * ```ts
   * for (const svid of await client.fetchX509Svids()) console.log(svid.id.toString(), svid.hint);
   * ```
   */
  async fetchX509Svids(): Promise<X509Svid[]> {
    const ctx = await this.fetchX509Context();
    return [...ctx.svids];
  }

  /**
   * Fetches the X509-SVIDs and the X.509 bundles (own and federated trust domains).
   *
   * @example
   * ```ts
   * const { svids, bundles } = await client.fetchX509Context();
   * ```
   */
  async fetchX509Context(): Promise<X509Context> {
    return this.#fetchFirst('FetchX509SVID', (m: X509SvidResponseMessage) => parseX509SvidResponse(m, this.logger));
  }

  /**
   * Watches the X.509 context: `watcher.onX509ContextUpdate` gets each new validated context,
   * `onX509ContextWatchError` each failure. Retries with backoff until `signal` aborts or the
   * client is closed (then the promise resolves); stops on `InvalidArgument` or `Unimplemented`
   * (the promise rejects with the error the watcher received).
   *
   * @example
   * ```ts
   * const controller = new AbortController();
   * const done = client.watchX509Context({
   *   onX509ContextUpdate: (ctx) => server.setSecureContext(toTlsOptions(ctx.svids[0])),
   *   onX509ContextWatchError: (err) => console.warn(err.message),
   * }, controller.signal);
   * // later
   * controller.abort();
   * await done;
   * ```
   */
  async watchX509Context(watcher: X509ContextWatcher, signal: AbortSignal): Promise<void> {
    const where = 'WorkloadApiClient.watchX509Context';
    checkWatcher(watcher, ['onX509ContextUpdate', 'onX509ContextWatchError'], where);
    await this.#watch(
      'FetchX509SVID',
      checkSignal(signal, where),
      (m: X509SvidResponseMessage) => parseX509SvidResponse(m, this.logger),
      (ctx) => watcher.onX509ContextUpdate(ctx),
      (err) => watcher.onX509ContextWatchError(err),
    );
  }

  /**
   * Fetches the X.509 bundles of every trust domain this workload trusts.
   *
   * @example
   * ```ts
   * const bundles = await client.fetchX509Bundles();
   * parseAndVerifyX509Svid(peerChain, bundles);
   * ```
   */
  async fetchX509Bundles(): Promise<X509BundleSet> {
    return this.#fetchFirst('FetchX509Bundles', (m: X509BundlesResponseMessage) => parseX509BundlesResponse(m, this.logger));
  }

  /**
   * Watches the X.509 bundles, with the retry rules of {@link WorkloadApiClient.watchX509Context}.
   *
   * @example
   * ```ts
   * void client.watchX509Bundles({
   *   onX509BundlesUpdate: (set) => (current = set),
   *   onX509BundlesWatchError: (err) => console.warn(err.message),
   * }, controller.signal);
   * ```
   */
  async watchX509Bundles(watcher: X509BundlesWatcher, signal: AbortSignal): Promise<void> {
    const where = 'WorkloadApiClient.watchX509Bundles';
    checkWatcher(watcher, ['onX509BundlesUpdate', 'onX509BundlesWatchError'], where);
    await this.#watch(
      'FetchX509Bundles',
      checkSignal(signal, where),
      (m: X509BundlesResponseMessage) => parseX509BundlesResponse(m, this.logger),
      (set) => watcher.onX509BundlesUpdate(set),
      (err) => watcher.onX509BundlesWatchError(err),
    );
  }

  // ----------------------------------------------------------------------------------- JWT

  /**
   * Fetches a JWT-SVID for `audience`: the default identity's, or `subject`'s.
   *
   * @throws TypeError when `audience` is empty.
   * @throws {@link WorkloadApiError} on a failed call or a response without a usable token.
   * @example
   * ```ts
   * const svid = await client.fetchJwtSvid({ audience: 'spiffe://example.org/db' });
   * await fetch(url, { headers: { authorization: `Bearer ${svid.token}` } });
   * ```
   */
  async fetchJwtSvid(params: JwtSvidParams): Promise<JwtSvid> {
    const svids = await this.fetchJwtSvids(params);
    return svids[0] as JwtSvid;
  }

  /**
   * Fetches a JWT-SVID for `audience` for each identity of this workload (or only `subject`'s).
   *
   * @example
   * ```ts
   * const svids = await client.fetchJwtSvids({ audience: ['a', 'b'] });
   * ```
   */
  async fetchJwtSvids(params: JwtSvidParams): Promise<JwtSvid[]> {
    const where = 'WorkloadApiClient.fetchJwtSvids';
    if (typeof params !== 'object' || params === null) throw new TypeError(`${where}: expected { audience, subject? }`);
    const audience = normalizeAudience(params.audience, where);
    const subject = checkSubject(params.subject, where);
    const request: JwtSvidRequestMessage = { audience, spiffe_id: subject?.toString() ?? '' };
    const response = await this.#unary<JwtSvidResponseMessage>('FetchJWTSVID', request);
    return parseJwtSvidResponse(response, audience, subject, this.logger);
  }

  /**
   * Fetches the JWT bundles (JWT signing keys) of every trust domain this workload trusts.
   *
   * @example
   * ```ts
   * const bundles = await client.fetchJwtBundles();
   * const svid = await parseAndValidateJwtSvid(token, bundles, ['spiffe://example.org/db']);
   * ```
   */
  async fetchJwtBundles(): Promise<JwtBundleSet> {
    return this.#fetchFirst('FetchJWTBundles', (m: JwtBundlesResponseMessage) => parseJwtBundlesResponse(m, this.logger));
  }

  /**
   * Watches the JWT bundles, with the retry rules of {@link WorkloadApiClient.watchX509Context}.
   *
   * @example
   * ```ts
   * void client.watchJwtBundles({
   *   onJwtBundlesUpdate: (set) => (current = set),
   *   onJwtBundlesWatchError: (err) => console.warn(err.message),
   * }, controller.signal);
   * ```
   */
  async watchJwtBundles(watcher: JwtBundlesWatcher, signal: AbortSignal): Promise<void> {
    const where = 'WorkloadApiClient.watchJwtBundles';
    checkWatcher(watcher, ['onJwtBundlesUpdate', 'onJwtBundlesWatchError'], where);
    await this.#watch(
      'FetchJWTBundles',
      checkSignal(signal, where),
      (m: JwtBundlesResponseMessage) => parseJwtBundlesResponse(m, this.logger),
      (set) => watcher.onJwtBundlesUpdate(set),
      (err) => watcher.onJwtBundlesWatchError(err),
    );
  }

  /**
   * Has the agent validate a JWT-SVID for `audience` and returns it parsed. The agent checks the
   * signature against the bundles it holds; this method then checks that the token's `sub`
   * matches the ID the agent returned.
   *
   * @throws {@link WorkloadApiError} `ERR_WORKLOADAPI_INVALID_ARGUMENT` when the agent rejects
   *   the token, or another code on a failed call.
   * @example
   * ```ts
   * const svid = await client.validateJwtSvid(bearerToken, 'spiffe://example.org/db');
   * console.log(`call from ${svid.id}`);
   * ```
   */
  async validateJwtSvid(token: string, audience: string): Promise<JwtSvid> {
    const where = 'WorkloadApiClient.validateJwtSvid';
    if (typeof token !== 'string' || token === '') throw new TypeError(`${where}: token must be a non-empty string`);
    if (typeof audience !== 'string' || audience === '') {
      throw new TypeError(`${where}: audience must be a non-empty string`);
    }
    const request: ValidateJwtSvidRequestMessage = { audience, svid: token };
    const response = await this.#unary<ValidateJwtSvidResponseMessage>('ValidateJWTSVID', request);
    if (!response.spiffe_id) {
      throw new WorkloadApiError('ERR_WORKLOADAPI_RESPONSE', 'workloadapi: ValidateJWTSVID response has an empty spiffe_id');
    }
    const svid = parseInsecureJwtSvid(token, [audience]);
    if (svid.id.toString() !== response.spiffe_id) {
      throw new WorkloadApiError(
        'ERR_WORKLOADAPI_RESPONSE',
        `workloadapi: ValidateJWTSVID returned spiffe_id ${response.spiffe_id}, but the token's sub is ${svid.id}`,
      );
    }
    return svid;
  }

  // ----------------------------------------------------------------------------- internals

  #where(): string {
    return describeWorkloadApiAddress(this.address);
  }

  #assertOpen(): void {
    if (this.closed) {
      throw new SourceClosedError('workloadapi: the WorkloadApiClient is closed');
    }
  }

  #closedDuringCall(): SourceClosedError {
    return new SourceClosedError('workloadapi: the WorkloadApiClient was closed during the call');
  }

  /**
   * Starts a call of `method`: `onMessage` gets each decoded response, `onEnd` the status once.
   * A response that does not decode ends the call with `Internal`.
   */
  #start(
    method: StreamMethod | UnaryMethod,
    request: unknown,
    onMessage: (message: unknown) => void,
    onEnd: (status: GrpcCallStatus) => void,
  ): GrpcCall {
    const [requestType, responseType] = METHOD_MESSAGES[method];
    const responseSpec = MESSAGES[responseType];
    // The channel delivers nothing synchronously, so `call` is set before any handler runs.
    const call: GrpcCall = this.#channel.call(
      `/SpiffeWorkloadAPI/${method}`,
      encodeMessage(MESSAGES[requestType], request),
      SECURITY_METADATA,
      {
        message: (bytes) => {
          let message: unknown;
          try {
            message = decodeMessage(responseSpec, bytes);
          } catch (err) {
            call.abort({ code: GrpcStatus.INTERNAL, details: `could not decode the ${responseType}: ${(err as Error)?.message ?? err}` });
            return;
          }
          onMessage(message);
        },
        end: (status) => {
          this.#calls.delete(call);
          onEnd(status);
        },
      },
    );
    this.#calls.add(call);
    return call;
  }

  /** Opens a stream, parses its first message, and cancels it. */
  #fetchFirst<M, T>(method: StreamMethod, parse: (message: M) => T): Promise<T> {
    this.#assertOpen();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const call = this.#start(
        method,
        {},
        (message) => {
          if (settled) return;
          settled = true;
          call.cancel();
          try {
            resolve(parse(message as M));
          } catch (err) {
            reject(err);
          }
        },
        (status) => {
          if (settled) return;
          settled = true;
          if (this.closed) reject(this.#closedDuringCall());
          else if (status.code === GrpcStatus.OK) {
            reject(new WorkloadApiError('ERR_WORKLOADAPI_RESPONSE', `workloadapi: ${method} stream ended without a response`));
          } else reject(fromGrpcError(new GrpcCallError(status), method, this.#where()));
        },
      );
    });
  }

  #unary<R>(method: UnaryMethod, request: unknown): Promise<R> {
    this.#assertOpen();
    return new Promise<R>((resolve, reject) => {
      let response: unknown;
      let count = 0;
      const call = this.#start(
        method,
        request,
        (message) => {
          count++;
          if (count === 1) response = message;
          else call.abort({ code: GrpcStatus.INTERNAL, details: `${method} is unary, but the server sent more than one response` });
        },
        (status) => {
          if (this.closed) reject(this.#closedDuringCall());
          else if (status.code !== GrpcStatus.OK) reject(fromGrpcError(new GrpcCallError(status), method, this.#where()));
          else if (count === 0) {
            reject(
              fromGrpcError(
                new GrpcCallError({ code: GrpcStatus.INTERNAL, details: `${method} ended without a response` }),
                method,
                this.#where(),
              ),
            );
          } else resolve(response as R);
        },
      );
    });
  }

  /** Runs one stream until it ends, fails or `signal` aborts. */
  #runStream<M>(method: StreamMethod, signal: AbortSignal, onMessage: (message: M) => void): Promise<StreamOutcome> {
    return new Promise<StreamOutcome>((resolve) => {
      const onAbort = (): void => call.cancel();
      const call = this.#start(
        method,
        {},
        (message) => {
          if (!signal.aborted) onMessage(message as M);
        },
        (status) => {
          signal.removeEventListener('abort', onAbort);
          if (signal.aborted) resolve({ kind: 'aborted' });
          else if (status.code === GrpcStatus.OK) resolve({ kind: 'ended' });
          else resolve({ kind: 'failed', error: new GrpcCallError(status) });
        },
      );
      if (signal.aborted) call.cancel();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The watch loop shared by the three watch methods. */
  async #watch<M, T>(
    method: StreamMethod,
    userSignal: AbortSignal,
    parse: (message: M) => T,
    onUpdate: (value: T) => void,
    onError: (error: WorkloadApiError) => void,
  ): Promise<void> {
    this.#assertOpen();
    const signal = AbortSignal.any([userSignal, this.#closed.signal]);
    const backoff = new Backoff(this.#initialBackoffMs, this.#maxBackoffMs);
    const report = (err: WorkloadApiError): void => {
      try {
        onError(err);
      } catch (e) {
        safeLog(this.logger, 'error', `workloadapi: ${method} watcher threw on an error: ${(e as Error)?.message ?? e}`);
      }
    };
    let lastFailure: string | undefined;
    while (!signal.aborted) {
      const outcome = await this.#runStream<M>(method, signal, (message) => {
        let value: T;
        try {
          value = parse(message);
        } catch (err) {
          report(
            err instanceof WorkloadApiError
              ? err
              : new WorkloadApiError(
                  'ERR_WORKLOADAPI_RESPONSE',
                  `workloadapi: ${method} response refused: ${(err as Error)?.message ?? err}`,
                  { cause: err },
                ),
          );
          return;
        }
        backoff.reset();
        if (lastFailure !== undefined) {
          safeLog(this.logger, 'info', `workloadapi: ${method}: receiving updates again from ${this.#where()}`);
          lastFailure = undefined;
        }
        try {
          onUpdate(value);
        } catch (e) {
          safeLog(this.logger, 'error', `workloadapi: ${method} watcher threw on an update: ${(e as Error)?.message ?? e}`);
        }
      });
      if (outcome.kind === 'aborted' || signal.aborted) return;
      let error: WorkloadApiError;
      if (outcome.kind === 'ended') {
        error = new WorkloadApiError('ERR_WORKLOADAPI_UNAVAILABLE', `workloadapi: ${method} stream was ended by the server; reopening it`);
      } else {
        error = fromGrpcError(outcome.error, method, this.#where());
        if (isTerminalStatus(outcome.error.code)) {
          safeLog(this.logger, 'error', `${error.message}; not retrying (${grpcStatusName(outcome.error.code)} is not transient)`);
          report(error);
          throw error;
        }
      }
      // One line per distinct failure: keyed by status code, since the details of Unavailable vary
      // from attempt to attempt (connection refused, socket missing, ...).
      const key = outcome.kind === 'ended' ? 'ended' : `code ${outcome.error.code}`;
      if (key !== lastFailure) {
        safeLog(this.logger, outcome.kind === 'ended' ? 'info' : 'warn', `${error.message}; retrying with backoff`);
        lastFailure = key;
      }
      report(error);
      const delay = backoff.next();
      safeLog(this.logger, 'debug', `workloadapi: ${method}: retrying in ${delay} ms`);
      if (!(await sleep(delay, signal))) return;
    }
  }
}
