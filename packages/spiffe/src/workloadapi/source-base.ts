/**
 * What the three Workload API sources share: start-up with a timeout, the update event,
 * closing.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { userInfo } from 'node:os';
import { SourceClosedError, WorkloadApiError } from '../errors.js';
import { ENDPOINT_SOCKET_ENV } from './address.js';
import { WorkloadApiClient } from './client.js';
import { safeLog, type WorkloadApiLogger } from './logger.js';

/**
 * Options every source accepts.
 *
 * @example
 * ```ts
 * const options: WorkloadApiSourceOptions = { address: 'unix:///tmp/spire-agent/public/api.sock', timeoutMs: 10_000 };
 * ```
 */
export interface WorkloadApiSourceOptions {
  /** A client to use (the source does not close it). By default the source makes its own. */
  client?: WorkloadApiClient;
  /** The endpoint for the source's own client; `SPIFFE_ENDPOINT_SOCKET` when absent. */
  address?: string;
  /** How long `create()` waits for the first update, in ms (default 30000). */
  timeoutMs?: number;
  /** Where to report (default: the client's logger, else warnings/errors to stderr). */
  logger?: WorkloadApiLogger;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function describeUser(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    user = undefined;
  }
  if (uid === undefined && user === undefined) return 'this process';
  return `this process (${[uid === undefined ? undefined : `uid ${uid}`, user && `user "${user}"`].filter(Boolean).join(', ')})`;
}

/**
 * The base of {@link X509Source}, {@link JwtSource} and {@link BundleSource}: the `'update'` and
 * `'close'` events and {@link WorkloadApiSource.close}. Not constructed directly.
 *
 * Updates come one way, as on every source of this package (the file sources too): the
 * `'update'` event. To iterate them, use Node's own `on()` from `node:events`, which ends with
 * the source when given `{ close: ['close'] }`:
 * `for await (const [update] of on(source, 'update', { close: ['close'] })) ...`.
 *
 * @example
 * ```ts
 * function logUpdates(source: WorkloadApiSource<unknown>): void {
 *   source.on('update', () => console.log('workload identity material updated'));
 * }
 * ```
 */
export abstract class WorkloadApiSource<U> extends EventEmitter {
  /** The client the source reads from. */
  protected readonly client: WorkloadApiClient;
  /** The logger the source reports through. */
  protected readonly logger: WorkloadApiLogger;
  readonly #ownsClient: boolean;
  readonly #abort = new AbortController();
  readonly #name: string;
  #closing: Promise<void> | undefined;
  #watches: Promise<void>[] = [];
  #lastError: WorkloadApiError | undefined;
  #ready: { resolve: () => void; reject: (err: Error) => void; promise: Promise<void> };
  #isReady = false;

  protected constructor(name: string, options: WorkloadApiSourceOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError(`${name}.create: options must be an object`);
    if (options.client !== undefined && !(options.client instanceof WorkloadApiClient)) {
      throw new TypeError(`${name}.create: client must be a WorkloadApiClient`);
    }
    if (options.client && options.address !== undefined) {
      throw new TypeError(`${name}.create: pass either client or address, not both`);
    }
    this.#name = name;
    this.#ownsClient = options.client === undefined;
    this.client = options.client ?? new WorkloadApiClient({ address: options.address, logger: options.logger });
    this.logger = options.logger ?? this.client.logger;
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined);
    this.#ready = { resolve, reject, promise };
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  /** The signal watches run under; aborted by close. */
  protected get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** The last failure seen on any stream, for error messages. */
  protected get lastError(): WorkloadApiError | undefined {
    return this.#lastError;
  }

  /** Starts a watch; a terminal failure fails start-up (or is logged after it). */
  protected startWatch(run: (signal: AbortSignal) => Promise<void>): void {
    const watch = run(this.#abort.signal).catch((err: unknown) => {
      const error =
        err instanceof WorkloadApiError ? err : new WorkloadApiError('ERR_WORKLOADAPI_RPC', `workloadapi: ${String(err)}`, { cause: err });
      this.#lastError = error;
      if (!this.#isReady) this.#ready.reject(error);
      else safeLog(this.logger, 'error', `workloadapi: ${this.#name} stopped updating: ${error.message}`);
    });
    this.#watches.push(watch);
  }

  /** Records a stream failure for the timeout message. */
  protected recordError(error: WorkloadApiError): void {
    this.#lastError = error;
  }

  /** Marks the source ready: `create()` resolves. */
  protected markReady(): void {
    if (this.#isReady) return;
    this.#isReady = true;
    this.#ready.resolve();
  }

  /** Emits an update to the listeners. */
  protected emitUpdate(update: U): void {
    try {
      this.emit('update', update);
    } catch (err) {
      safeLog(this.logger, 'error', `workloadapi: an ${this.#name} 'update' listener threw: ${(err as Error)?.message ?? err}`);
    }
  }

  /** Throws `ERR_SOURCE_CLOSED` once closed. */
  protected assertOpen(): void {
    if (this.closed) {
      throw new SourceClosedError(`workloadapi: the ${this.#name} is closed`);
    }
  }

  /** Waits for {@link WorkloadApiSource.markReady}; on timeout or terminal failure, closes and throws. */
  protected async waitReady(timeoutMs: number | undefined, waitingFor: string): Promise<void> {
    const ms = timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
      await this.close();
      throw new TypeError(`${this.#name}.create: timeoutMs must be a positive number of milliseconds`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#timeoutError(ms, waitingFor)), ms);
    });
    try {
      await Promise.race([this.#ready.promise, timeout]);
    } catch (err) {
      await this.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  #timeoutError(ms: number, waitingFor: string): WorkloadApiError {
    const addr = this.client.address;
    const where =
      addr.kind === 'unix'
        ? `the socket path in use is ${addr.socketPath}`
        : `the endpoint in use is ${addr.host?.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}`;
    const origin = addr.from === 'env' ? ` (from ${ENDPOINT_SOCKET_ENV})` : ' (from the address option)';
    const last = this.#lastError
      ? `the last error was: ${this.#lastError.message.replace(/^workloadapi: /, '')}`
      : 'no error was seen (the agent accepted the call but sent nothing)';
    return new WorkloadApiError(
      'ERR_WORKLOADAPI_TIMEOUT',
      `workloadapi: ${this.#name}.create timed out after ${ms} ms waiting for ${waitingFor}. Check that ` +
        `${where}${origin}; that an agent is running and listening there; and that a registration ` +
        `entry matches ${describeUser()}. In that wait ${last}`,
      { cause: this.#lastError },
    );
  }

  /**
   * Registers a listener for `'update'` (the new state, after each accepted update) or
   * `'close'`.
   *
   * @example
   * ```ts
   * source.on('update', () => console.log('rotated'));
   * ```
   */
  override on(event: 'update', listener: (update: U) => void): this;
  override on(event: 'close', listener: () => void): this;
  // EventEmitter's own signature, which an override must keep.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override on(event: string | symbol, listener: (...args: any[]) => void): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  /**
   * Stops watching, closes the source's own client (not one passed in) and emits `'close'`
   * (which ends an `on(source, 'update', { close: ['close'] })` loop). Afterwards every getter throws `ERR_SOURCE_CLOSED`. Idempotent.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => void source.close());
   * ```
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#abort.abort();
    this.#ready.reject(new SourceClosedError(`workloadapi: the ${this.#name} was closed`));
    this.#closing = (async () => {
      await Promise.allSettled(this.#watches);
      if (this.#ownsClient) this.client.close();
      this.onClosed();
      this.emit('close');
    })();
    return this.#closing;
  }

  /** Drops the state the subclass holds. */
  protected abstract onClosed(): void;
}
