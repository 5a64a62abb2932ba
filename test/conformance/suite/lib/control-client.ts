/**
 * The suite's client of the harness control port (contract v1 §4), checking the envelope: the
 * HTTP status must match the `status` field (`ok` 200, `rejected` 422, `error` 500,
 * `unsupported` 501), otherwise the answer is a contract violation.
 *
 * @module
 */
import { ExecError, SkipError } from './errors.js';

/**
 * A decoded control-port answer.
 *
 * @example
 * ```ts
 * const res = await control.validate(token, 'conformance');
 * if (res.status === 'ok') console.log(res.spiffe_id);
 * ```
 */
export interface ControlResponse {
  httpStatus: number;
  status: 'ok' | 'rejected' | 'error' | 'unsupported';
  message?: string;
  spiffe_id?: string;
  claims?: Record<string, unknown>;
  svids?: { spiffe_id: string; token: string; hint: string }[];
  [key: string]: unknown;
}

const STATUS_FOR: Record<string, number> = { ok: 200, rejected: 422, error: 500, unsupported: 501 };
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * A control-port client for one harness.
 *
 * @example
 * ```ts
 * const control = new ControlClient(controlPort);
 * await control.fetchJwt(['conformance'], '');
 * ```
 */
export class ControlClient {
  constructor(readonly port: number) {}

  /** `POST /v1/jwt/validate`. */
  validate(token: string, audience: string): Promise<ControlResponse> {
    return this.post('/v1/jwt/validate', { token, audience });
  }

  /** `POST /v1/jwt/fetch`. */
  fetchJwt(audience: string[], spiffeId: string): Promise<ControlResponse> {
    return this.post('/v1/jwt/fetch', { audience, spiffe_id: spiffeId });
  }

  /** `POST /v1/x509/dial`. */
  dial(address: string): Promise<ControlResponse> {
    return this.post('/v1/x509/dial', { address });
  }

  /** `GET /v1/info` (the raw JSON). */
  async info(): Promise<{ httpStatus: number; body: unknown; contentType: string | null }> {
    const res = await fetch(`http://127.0.0.1:${this.port}/v1/info`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return { httpStatus: res.status, body: await res.json(), contentType: res.headers.get('content-type') };
  }

  /**
   * Posts `body` as JSON to `path` and checks the envelope.
   *
   * @throws {@link ExecError} for an unreachable port or a contract violation;
   *   {@link SkipError} for `unsupported`.
   */
  async post(path: string, body: unknown): Promise<ControlResponse> {
    let res: Response;
    try {
      res = await fetch(`http://127.0.0.1:${this.port}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ExecError(`POST ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const text = await res.text();
    let decoded: ControlResponse;
    try {
      decoded = { ...(JSON.parse(text) as Record<string, unknown>), httpStatus: res.status } as ControlResponse;
    } catch {
      throw new ExecError(`POST ${path}: HTTP ${res.status} with a non-JSON body ${JSON.stringify(text.slice(0, 200))}`);
    }
    if (!/^application\/json\b/.test(res.headers.get('content-type') ?? '')) {
      throw new ExecError(`POST ${path}: contract violation: Content-Type ${res.headers.get('content-type')}`);
    }
    if (STATUS_FOR[decoded.status] !== res.status) {
      throw new ExecError(`POST ${path}: contract violation: HTTP ${res.status} with status ${JSON.stringify(decoded.status)}`);
    }
    if (decoded.status === 'unsupported') throw new SkipError(`${path}: the harness answered unsupported`);
    return decoded;
  }
}
