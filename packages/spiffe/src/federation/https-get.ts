/**
 * One bounded HTTPS GET of a bundle endpoint: a time limit for the whole exchange, a size limit
 * on the body, and redirects followed only within the endpoint's own origin.
 *
 * Not part of the public API: no entry point exports this module.
 * @module
 */
import type { Agent, IncomingMessage } from 'node:http';
import https from 'node:https';
import { FederationError, SpiffeError, type FederationErrorCode } from '../errors.js';
import { checkEndpointUrl, describeUrl } from './endpoint.js';

/** At most this many redirects are followed for one fetch. */
const MAX_REDIRECTS = 3;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** OpenSSL and Node codes of a server certificate that failed Web PKI validation. */
const CERTIFICATE_ERRORS = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_NO_PEER_CERTIFICATE',
]);

/** @internal What one GET needs. */
export interface GetRequest {
  url: URL;
  trustDomain: string;
  /** A fresh agent per hop (no pooled socket, no cached TLS session). */
  agent: () => Agent;
  /** Extra TLS options for the request (`ca` for https_web). */
  tls: https.RequestOptions;
  /** Describes how the endpoint is authenticated, for messages. */
  authentication: string;
  timeoutMs: number;
  maxBytes: number;
  signal: AbortSignal | undefined;
}

/**
 * @internal GETs `request.url`, following same-origin redirects, and resolves to the body of
 * the 200 answer.
 */
export async function boundedGet(request: GetRequest): Promise<Buffer> {
  const origin = request.url;
  const fail = (code: FederationErrorCode, message: string, cause?: unknown): FederationError =>
    new FederationError(code, `federation: bundle of "${request.trustDomain}" from ${describeUrl(origin)}: ${message}`, {
      trustDomain: request.trustDomain,
      url: origin.href,
      cause,
    });
  const deadline = Date.now() + request.timeoutMs;
  let url = origin;
  for (let hop = 0; ; hop++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw fail('ERR_FEDERATION_TIMEOUT', `no answer within ${request.timeoutMs} ms`);
    const answer = await getOnce(url, request, remaining, fail);
    if (answer.kind === 'body') return answer.body;
    if (hop >= MAX_REDIRECTS) {
      throw fail('ERR_FEDERATION_REDIRECT', `more than ${MAX_REDIRECTS} redirects; the endpoint must answer within ${MAX_REDIRECTS} hops`);
    }
    url = checkRedirect(origin, url, answer.location, fail);
  }
}

type Fail = (code: FederationErrorCode, message: string, cause?: unknown) => FederationError;

/**
 * A redirect is followed only to a bundle endpoint URL on the same host and port as the
 * configured one, so that the same server identity answers (SPIFFE Federation §7.5.1: a
 * redirect elsewhere would let whoever controls the first answer pick the server).
 */
function checkRedirect(origin: URL, from: URL, location: string | undefined, fail: Fail): URL {
  if (!location) throw fail('ERR_FEDERATION_REDIRECT', 'a redirect without a Location header');
  let target: URL;
  try {
    target = new URL(location, from);
  } catch (err) {
    throw fail('ERR_FEDERATION_REDIRECT', `a redirect to an unparseable Location ${JSON.stringify(location)}`, err);
  }
  try {
    checkEndpointUrl(target, 'redirect');
  } catch (err) {
    throw fail(
      'ERR_FEDERATION_REDIRECT',
      `a redirect to ${JSON.stringify(location)}, which is not a bundle endpoint URL (https, no userinfo)`,
      err,
    );
  }
  if (target.host !== origin.host) {
    throw fail(
      'ERR_FEDERATION_REDIRECT',
      `a redirect to another host or port (${target.host}); redirects are followed only within ${origin.host}`,
    );
  }
  return target;
}

type Answer = { kind: 'body'; body: Buffer } | { kind: 'redirect'; location: string | undefined };

function getOnce(url: URL, request: GetRequest, timeoutMs: number, fail: Fail): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const agent = request.agent();
    let settled = false;
    const finish = (err: Error | undefined, answer?: Answer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      agent.destroy();
      if (err) reject(err);
      else resolve(answer as Answer);
    };
    const onAbort = (): void => finish(fail('ERR_FEDERATION_FETCH', 'the fetch was aborted', request.signal?.reason));
    const timer = setTimeout(() => finish(fail('ERR_FEDERATION_TIMEOUT', `no complete answer within ${request.timeoutMs} ms`)), timeoutMs);
    const req = https.request(url, {
      ...request.tls,
      method: 'GET',
      agent,
      headers: { accept: 'application/json' },
    });
    req.on('error', (err: Error) => finish(classifyError(err, request.authentication, fail)));
    req.on('response', (res: IncomingMessage) => {
      // Destroying the request after an early answer may abort the response: that is no error.
      res.on('error', (err: Error) => finish(fail('ERR_FEDERATION_FETCH', `the answer broke off: ${err.message}`, err)));
      const status = res.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) {
        res.resume();
        finish(undefined, { kind: 'redirect', location: res.headers.location });
        return;
      }
      if (status !== 200) {
        res.resume();
        finish(
          fail(
            'ERR_FEDERATION_FETCH',
            `the endpoint answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}; expected 200 with a SPIFFE bundle`,
          ),
        );
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > request.maxBytes) {
        finish(fail('ERR_FEDERATION_TOO_LARGE', `the body is ${declared} bytes, over the ${request.maxBytes} allowed`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > request.maxBytes) {
          finish(fail('ERR_FEDERATION_TOO_LARGE', `the body exceeds the ${request.maxBytes} bytes allowed`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish(undefined, { kind: 'body', body: Buffer.concat(chunks) }));
      res.on('aborted', () => finish(fail('ERR_FEDERATION_FETCH', 'the endpoint closed the connection before the end of the body')));
    });
    if (request.signal?.aborted) onAbort();
    else request.signal?.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}

function classifyError(err: Error, authentication: string, fail: Fail): FederationError {
  if (err instanceof FederationError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (err instanceof SpiffeError || (code !== undefined && CERTIFICATE_ERRORS.has(code))) {
    return fail('ERR_FEDERATION_ENDPOINT_REJECTED', `the endpoint failed ${authentication}: ${err.message}`, err);
  }
  return fail('ERR_FEDERATION_FETCH', `cannot fetch: ${err.message}${code ? ` (${code})` : ''}`, err);
}
