/**
 * A small gRPC client on `node:http2`: exactly what the Workload API needs (unary and
 * server-streaming calls without compression, on one HTTP/2 connection over a Unix domain
 * socket or TCP), in place of `@grpc/grpc-js`, which costs a Workload API client about 50 ms
 * of start-up and 15 MB of memory.
 *
 * What it follows of the gRPC over HTTP/2 protocol: requests are `POST` with
 * `content-type: application/grpc` and `te: trailers`, each message is length-prefixed (one
 * flag byte, four length bytes); the status comes from the `grpc-status` / `grpc-message`
 * trailers (or the headers of a trailers-only response); a response that is not HTTP 200, not
 * `application/grpc`, compressed, over the size limit, or cut short gets the status the
 * protocol's HTTP mapping gives it. Connection failures are `Unavailable`, as in every gRPC
 * implementation, so the watch loops retry them. A failed or closed connection is replaced on
 * the next call.
 *
 * @module
 * Not part of the public API: no entry point exports this module.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import net from 'node:net';
import type { WorkloadApiAddress } from './address.js';

/** gRPC status codes used by this client. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The largest response message accepted (gRPC's usual default). */
export const MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;

/** How a call ended. */
export interface GrpcCallStatus {
  code: number;
  details: string;
}

/** A call that ended with a status other than OK: the error every failure handler receives. */
export class GrpcCallError extends Error {
  readonly code: number;
  readonly details: string;

  constructor(status: GrpcCallStatus) {
    super(`${status.code} ${status.details}`);
    this.name = 'GrpcCallError';
    this.code = status.code;
    this.details = status.details;
  }
}

/** What a caller hears from a call: each response message, then its status once. */
export interface GrpcCallHandlers {
  message(bytes: Buffer): void;
  end(status: GrpcCallStatus): void;
}

/** An open call. */
export interface GrpcCall {
  /** Ends the call with `Cancelled` (nothing more is delivered). Idempotent. */
  cancel(): void;
  /** Ends the call with `status` (a response the caller refused); nothing more is delivered. */
  abort(status: GrpcCallStatus): void;
}

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_INADEQUATE_SECURITY } = http2.constants;

/** The gRPC status of an HTTP response that is not a gRPC one (gRPC's HTTP-to-status mapping). */
function statusForHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** The gRPC status of a stream reset by the server without a status. */
function statusForReset(rstCode: number): number {
  switch (rstCode) {
    case NGHTTP2_REFUSED_STREAM:
      return GrpcStatus.UNAVAILABLE;
    case NGHTTP2_CANCEL:
      return GrpcStatus.CANCELLED;
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case NGHTTP2_INADEQUATE_SECURITY:
      return GrpcStatus.PERMISSION_DENIED;
    default:
      return GrpcStatus.INTERNAL;
  }
}

/** `grpc-message` is percent-encoded (RFC 3986 style); a malformed one is kept as it came. */
function decodeGrpcMessage(value: string | string[] | undefined): string {
  const raw = Array.isArray(value) ? value.join(',') : (value ?? '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The status carried by `headers` (trailers, or the headers of a trailers-only response). */
function statusFromHeaders(headers: IncomingHttpHeaders): GrpcCallStatus | undefined {
  const value = headers['grpc-status'];
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  const code = /^\d+$/.test(text ?? '') ? Number(text) : NaN;
  if (!Number.isInteger(code) || code > 0xffff) {
    return { code: GrpcStatus.UNKNOWN, details: `invalid grpc-status "${text}"` };
  }
  return { code, details: decodeGrpcMessage(headers['grpc-message']) };
}

/** Splits a stream of length-prefixed gRPC messages, whatever the chunking. */
class MessageReader {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  /** Adds a chunk; returns the complete messages, or a status when the stream is malformed. */
  push(chunk: Buffer): Buffer[] | GrpcCallStatus {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const messages: Buffer[] = [];
    while (this.#pendingBytes >= 5) {
      const head = this.#peek(5);
      const compressed = head[0] as number;
      const length = head.readUInt32BE(1);
      if (compressed !== 0) {
        return { code: GrpcStatus.INTERNAL, details: 'received a compressed message, but no compression was negotiated' };
      }
      if (length > MAX_RECEIVE_MESSAGE_BYTES) {
        return {
          code: GrpcStatus.RESOURCE_EXHAUSTED,
          details: `received a message of ${length} bytes, more than the ${MAX_RECEIVE_MESSAGE_BYTES} accepted`,
        };
      }
      if (this.#pendingBytes < 5 + length) break;
      messages.push(this.#take(5 + length).subarray(5));
    }
    return messages;
  }

  /** Whether a message was started and not finished. */
  get partial(): boolean {
    return this.#pendingBytes > 0;
  }

  #peek(n: number): Buffer {
    const first = this.#pending[0] as Buffer;
    if (first.length >= n) return first;
    return Buffer.concat(this.#pending).subarray(0, n);
  }

  #take(n: number): Buffer {
    const all = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending);
    const taken = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#pendingBytes = rest.length;
    return taken;
  }
}

/** Frames one request message. */
function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** A gRPC channel to one Workload API endpoint. */
export class GrpcHttp2Channel {
  readonly #address: WorkloadApiAddress;
  readonly #authority: string;
  #session: ClientHttp2Session | undefined;
  /** Why a connection failed, for the `Unavailable` details of the calls it takes down. */
  readonly #sessionErrors = new WeakMap<ClientHttp2Session, Error>();
  #active = 0;
  #closed = false;

  constructor(address: WorkloadApiAddress) {
    this.#address = address;
    // grpc-go servers (the SPIRE agent) accept any authority; this is what gRPC clients send.
    this.#authority =
      address.kind === 'unix'
        ? 'localhost'
        : address.host?.includes(':')
          ? `[${address.host}]:${address.port}`
          : `${address.host}:${address.port}`;
  }

  /** Closes the connection; calls still open end with `Cancelled`. No call may start after. */
  close(): void {
    this.#closed = true;
    const session = this.#session;
    this.#session = undefined;
    session?.destroy();
  }

  /**
   * Starts a call: `path` is `/Service/Method`, `request` the encoded request message, and
   * `metadata` the request headers to add. The handlers hear every response message and then
   * the status, once, always asynchronously.
   */
  call(path: string, request: Uint8Array, metadata: Record<string, string>, handlers: GrpcCallHandlers): GrpcCall {
    const state = { finished: false };
    let stream: ClientHttp2Stream;
    const finish = (status: GrpcCallStatus): void => {
      if (state.finished) return;
      state.finished = true;
      this.#release();
      handlers.end(status);
    };
    this.#active++;
    if (this.#closed) {
      queueMicrotask(() => finish({ code: GrpcStatus.CANCELLED, details: 'the channel is closed' }));
      return { cancel: () => undefined, abort: () => undefined };
    }
    let session: ClientHttp2Session;
    try {
      session = this.#connect();
      session.ref();
      stream = session.request(
        {
          ':method': 'POST',
          ':path': path,
          ':scheme': 'http',
          ':authority': this.#authority,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-accept-encoding': 'identity',
          'user-agent': 'spiffe-node',
          ...metadata,
        },
        { endStream: false },
      );
    } catch (err) {
      // session.request throws synchronously on a session that is closing or destroyed.
      this.#drop();
      queueMicrotask(() => finish({ code: GrpcStatus.UNAVAILABLE, details: (err as Error).message }));
      return { cancel: () => undefined, abort: () => undefined };
    }
    const open = stream;
    this.#track(open, session, state, finish, handlers);
    open.end(frame(request));
    const abort = (status: GrpcCallStatus): void => {
      if (state.finished) return;
      finish(status);
      if (!open.destroyed) open.close(NGHTTP2_CANCEL);
    };
    return { cancel: () => abort({ code: GrpcStatus.CANCELLED, details: 'cancelled on the client' }), abort };
  }

  #track(
    stream: ClientHttp2Stream,
    session: ClientHttp2Session,
    state: { readonly finished: boolean },
    finish: (status: GrpcCallStatus) => void,
    handlers: GrpcCallHandlers,
  ): void {
    const reader = new MessageReader();
    let streamError: Error | undefined;
    let status: GrpcCallStatus | undefined;
    let httpFailure: GrpcCallStatus | undefined;
    const fail = (s: GrpcCallStatus): void => {
      finish(s);
      if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
    };
    stream.on('response', (headers) => {
      const httpStatus = Number(headers[':status']);
      const contentType = String(headers['content-type'] ?? '');
      // A trailers-only response carries the status in its headers.
      const inHeaders = statusFromHeaders(headers);
      if (httpStatus !== 200) {
        httpFailure = inHeaders ?? { code: statusForHttp(httpStatus), details: `the server answered HTTP ${httpStatus}` };
      } else if (!contentType.startsWith('application/grpc')) {
        httpFailure = { code: GrpcStatus.UNKNOWN, details: `the server answered with content-type "${contentType}", not a gRPC response` };
      } else if (inHeaders !== undefined) {
        status = inHeaders;
      }
      if (httpFailure !== undefined) fail(httpFailure);
    });
    stream.on('data', (chunk: Buffer) => {
      // Nothing is delivered once the call has ended (failed, cancelled or refused by the caller).
      if (state.finished) return;
      const result = reader.push(chunk);
      if (!Array.isArray(result)) {
        fail(result);
        return;
      }
      for (const message of result) {
        if (state.finished) return;
        handlers.message(message);
      }
    });
    stream.on('trailers', (trailers: IncomingHttpHeaders) => {
      status = statusFromHeaders(trailers) ?? { code: GrpcStatus.UNKNOWN, details: 'the response trailers carry no grpc-status' };
    });
    // Every error is followed by 'close', which reports it (the connection's error first).
    stream.on('error', (err: Error) => {
      streamError ??= err;
    });
    stream.on('close', () => {
      if (state.finished) return;
      if (status !== undefined) {
        if (status.code === GrpcStatus.OK && reader.partial) {
          finish({ code: GrpcStatus.INTERNAL, details: 'the response ended inside a message' });
        } else {
          finish(status);
        }
        return;
      }
      const rstCode = stream.rstCode ?? 0;
      const sessionError = this.#sessionErrors.get(session);
      if (sessionError !== undefined || session.destroyed) {
        // The connection failed or closed under the call: the agent is not (or no longer) there.
        const cause = sessionError ?? streamError;
        finish({
          code: GrpcStatus.UNAVAILABLE,
          details:
            cause !== undefined
              ? `connection to the agent failed: ${cause.message}`
              : 'the connection to the agent closed before the call ended',
        });
      } else if (rstCode !== 0) {
        finish({ code: statusForReset(rstCode), details: `the server reset the stream (HTTP/2 error code ${rstCode})` });
      } else {
        // Node reports some resets as code 0 (a stream already closed on this side).
        finish({
          code: GrpcStatus.INTERNAL,
          details: `the server closed the stream without a gRPC status${streamError ? `: ${streamError.message}` : ''}`,
        });
      }
    });
  }

  #connect(): ClientHttp2Session {
    const current = this.#session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const address = this.#address;
    const session = http2.connect(`http://${this.#authority}`, {
      createConnection: () =>
        address.kind === 'unix'
          ? net.connect({ path: address.socketPath as string })
          : net.connect({ host: address.host as string, port: address.port as number }),
    });
    session.on('error', (err: Error) => {
      if (!this.#sessionErrors.has(session)) this.#sessionErrors.set(session, err);
      if (this.#session === session) this.#session = undefined;
    });
    // A server going away (agent restart) or the socket closing: the next call reconnects.
    session.on('goaway', () => {
      if (this.#session === session) this.#session = undefined;
    });
    session.on('close', () => {
      if (this.#session === session) this.#session = undefined;
    });
    this.#session = session;
    return session;
  }

  #drop(): void {
    const session = this.#session;
    this.#session = undefined;
    session?.destroy();
  }

  /** One call fewer; an idle connection does not keep the process alive. */
  #release(): void {
    this.#active--;
    if (this.#active === 0) this.#session?.unref();
  }
}
