/**
 * A bare gRPC client of the Workload API (grpc-js and the proto the library ships), for what the
 * library's client never does on purpose: calling without the `workload.spiffe.io` header, and
 * seeing responses and status details exactly as the agent sent them.
 */
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

/** The five RPCs of the Workload API. */
export const STREAM_METHODS = ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTBundles'] as const;
export const UNARY_METHODS = ['FetchJWTSVID', 'ValidateJWTSVID'] as const;
export type WorkloadMethod = (typeof STREAM_METHODS)[number] | (typeof UNARY_METHODS)[number];

/** A status as the caller sees it: the gRPC code and its details text. */
export interface CallStatus {
  code: number;
  details: string;
}

/** A call outcome: the first message (streams) or the response (unary), or the status it failed with. */
export type Outcome<T = Record<string, unknown>> = { ok: true; message: T } | { ok: false; status: CallStatus };

let definition: grpc.ServiceDefinition | undefined;

function service(): grpc.ServiceDefinition {
  if (definition) return definition;
  const pkg = protoLoader.loadSync(require.resolve('@spiffe-node/spiffe/proto/workload.proto'), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  definition = pkg['SpiffeWorkloadAPI'] as unknown as grpc.ServiceDefinition;
  return definition;
}

/** A raw client on `socketPath`; `header: false` leaves out the security header. */
export class RawWorkloadClient {
  readonly #client: grpc.Client;
  readonly #header: boolean;

  constructor(socketPath: string, options: { header?: boolean } = {}) {
    this.#client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
    this.#header = options.header ?? true;
  }

  #metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.#header) md.set('workload.spiffe.io', 'true');
    return md;
  }

  /** Opens a stream and returns its first message (then cancels it), or the status it ended with. */
  first<T = Record<string, unknown>>(method: (typeof STREAM_METHODS)[number], timeoutMs = 10_000): Promise<Outcome<T>> {
    const def = service()[method]!;
    return new Promise((resolve) => {
      const call = this.#client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, {}, this.#metadata(), {
        deadline: Date.now() + timeoutMs,
      });
      let settled = false;
      const settle = (o: Outcome<T>): void => {
        if (settled) return;
        settled = true;
        resolve(o);
      };
      call.on('data', (message: T) => {
        settle({ ok: true, message });
        call.cancel();
      });
      call.on('error', (err: grpc.ServiceError) => settle({ ok: false, status: { code: err.code, details: err.details } }));
      call.on('status', (s: grpc.StatusObject) => settle({ ok: false, status: { code: s.code, details: s.details } }));
    });
  }

  /** A unary call. */
  unary<T = Record<string, unknown>>(
    method: (typeof UNARY_METHODS)[number],
    request: Record<string, unknown>,
    timeoutMs = 10_000,
  ): Promise<Outcome<T>> {
    const def = service()[method]!;
    return new Promise((resolve) => {
      this.#client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        this.#metadata(),
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, response?: unknown) => {
          if (err) resolve({ ok: false, status: { code: err.code, details: err.details } });
          else resolve({ ok: true, message: response as T });
        },
      );
    });
  }

  /** Calls `method` with a request that is valid apart from (possibly) the header. */
  call(method: WorkloadMethod, token = 'x.y.z'): Promise<Outcome> {
    switch (method) {
      case 'FetchJWTSVID':
        return this.unary(method, { audience: ['spiffe://example.org/differential-audience'] });
      case 'ValidateJWTSVID':
        return this.unary(method, { audience: 'spiffe://example.org/differential-audience', svid: token });
      default:
        return this.first(method);
    }
  }

  close(): void {
    this.#client.close();
  }
}
