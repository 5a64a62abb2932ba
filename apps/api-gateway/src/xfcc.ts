/**
 * Envoy's `x-forwarded-client-cert` (XFCC) header: elements separated by `,`, `key=value` pairs
 * by `;`, values optionally double-quoted (with `\"` inside quotes). Keys: `By`, `Hash`, `Cert`,
 * `Chain` (URL-encoded PEM), `Subject`, `URI`, `DNS`.
 *
 * @module
 */

/**
 * One XFCC element: what one proxy says about the client certificate it saw.
 *
 * @example
 * ```ts
 * const element: XfccElement = { by: 'spiffe://example.org/api-gateway', hash: 'ab12...', uri: ['spiffe://example.org/client'], dns: [] };
 * ```
 */
export interface XfccElement {
  by?: string;
  hash?: string;
  /** URL-decoded PEM of the client certificate. */
  cert?: string;
  /** URL-decoded PEM of the client chain (leaf first). */
  chain?: string;
  subject?: string;
  uri: string[];
  dns: string[];
}

/** Longest XFCC value read (a chain of a few certificates, URL-encoded). */
const MAX_XFCC_LENGTH = 64 * 1024;

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted && ch === '\\' && i + 1 < text.length) {
      current += ch + text[i + 1]!;
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
      current += ch;
    } else if (ch === separator && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (quoted) throw new Error('x-forwarded-client-cert: an unterminated quoted value');
  parts.push(current);
  return parts;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1).replace(/\\(.)/g, '$1');
  return value;
}

function urlDecoded(key: string, value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new Error(`x-forwarded-client-cert: ${key} is not valid URL-encoding`);
  }
}

/**
 * Parses an XFCC header value into its elements (the last one was added by the nearest proxy).
 *
 * @param value - The header value.
 * @throws `Error` for a malformed value (never echoing it).
 * @example
 * ```ts
 * const elements = parseXfcc('By=spiffe://example.org/front;Hash=ab12;URI=spiffe://example.org/client');
 * const nearest = elements.at(-1);
 * ```
 */
export function parseXfcc(value: string): XfccElement[] {
  if (value.length > MAX_XFCC_LENGTH) throw new Error('x-forwarded-client-cert: the value is too long');
  return splitOutsideQuotes(value, ',').map((elementText) => {
    const element: XfccElement = { uri: [], dns: [] };
    if (elementText.trim() === '') throw new Error('x-forwarded-client-cert: an empty element');
    for (const pair of splitOutsideQuotes(elementText, ';')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error('x-forwarded-client-cert: a pair without "key="');
      const key = pair.slice(0, eq).trim().toLowerCase();
      const raw = unquote(pair.slice(eq + 1).trim());
      switch (key) {
        case 'by':
          element.by = raw;
          break;
        case 'hash':
          element.hash = raw.toLowerCase();
          break;
        case 'cert':
          element.cert = urlDecoded('Cert', raw);
          break;
        case 'chain':
          element.chain = urlDecoded('Chain', raw);
          break;
        case 'subject':
          element.subject = raw;
          break;
        case 'uri':
          element.uri.push(raw);
          break;
        case 'dns':
          element.dns.push(raw);
          break;
        default:
          // Keys added by later Envoy versions are not needed here; they are skipped.
          break;
      }
    }
    return element;
  });
}

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Formats one XFCC element: `By`, `Hash`, `Cert` (URL-encoded, quoted), `Subject` (quoted),
 * `URI`, `DNS`, in Envoy's order.
 *
 * @example
 * ```ts
 * formatXfccElement({ by: 'spiffe://example.org/api-gateway', hash: 'ab12', uri: ['spiffe://example.org/client'], dns: [] });
 * // By=spiffe://example.org/api-gateway;Hash=ab12;URI=spiffe://example.org/client
 * ```
 */
export function formatXfccElement(element: XfccElement): string {
  const pairs: string[] = [];
  if (element.by !== undefined) pairs.push(`By=${element.by}`);
  if (element.hash !== undefined) pairs.push(`Hash=${element.hash}`);
  if (element.cert !== undefined) pairs.push(`Cert=${quoted(encodeURIComponent(element.cert))}`);
  if (element.chain !== undefined) pairs.push(`Chain=${quoted(encodeURIComponent(element.chain))}`);
  if (element.subject !== undefined) pairs.push(`Subject=${quoted(element.subject)}`);
  for (const uri of element.uri) pairs.push(`URI=${uri}`);
  for (const dns of element.dns) pairs.push(`DNS=${dns}`);
  return pairs.join(';');
}
