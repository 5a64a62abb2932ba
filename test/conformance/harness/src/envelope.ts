/**
 * The control port's response envelope (harness contract v1 §4.1) and JSON request reading.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The outcome of a control-port operation, and the HTTP status each one travels with:
 * `ok` 200, `rejected` 422 (the SDK ran the operation and refused the input), `error` 500
 * (the harness could not run it), `unsupported` 501.
 *
 * @example
 * ```ts
 * const outcome: Outcome = 'rejected';
 * HTTP_STATUS[outcome]; // 422
 * ```
 */
export type Outcome = 'ok' | 'rejected' | 'error' | 'unsupported';

/** The HTTP status of each {@link Outcome}. */
const HTTP_STATUS: Readonly<Record<Outcome, number>> = Object.freeze({
  ok: 200,
  rejected: 422,
  error: 500,
  unsupported: 501,
});

/**
 * Sends a JSON body with `Content-Type: application/json`.
 *
 * @example
 * ```ts
 * sendJson(res, 200, { sdk: '@spiffe-node/spiffe' });
 * ```
 */
export function sendJson(res: ServerResponse, httpStatus: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(httpStatus, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Sends the envelope for `outcome`: `{ status, message?, ...fields }` with the matching HTTP
 * status.
 *
 * @example
 * ```ts
 * sendOutcome(res, 'ok', { spiffe_id: 'spiffe://example.org/web' });
 * sendOutcome(res, 'rejected', { message: 'jwtsvid: token has expired' });
 * ```
 */
export function sendOutcome(res: ServerResponse, outcome: Outcome, fields: Record<string, unknown> = {}): void {
  sendJson(res, HTTP_STATUS[outcome], { status: outcome, ...fields });
}

/** Request bodies above this size are refused (the suite sends tokens and addresses). */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A request the harness cannot act on (bad JSON, missing fields): answered `500 error`.
 *
 * @example
 * ```ts
 * throw new BadRequest('"token" must be a string');
 * ```
 */
export class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

/**
 * Reads a JSON object request body.
 *
 * @throws {@link BadRequest} when the body is too large, not JSON, or not an object.
 * @example
 * ```ts
 * const body = await readJsonObject(req);
 * ```
 */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(`bad request: the body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(buf);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new BadRequest(`bad request: the body is not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BadRequest('bad request: the body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}
