/**
 * Reading and writing the admin API's HTTP messages.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DevAgentError } from '../errors.js';

const MAX_BODY = 1 << 20;

/** Reads a JSON request body (at most 1 MiB). */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new DevAgentError('ERR_ENTRY_INVALID', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
}

/** Sends a text response. */
export function sendText(res: ServerResponse, status: number, text: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends a JSON response. */
export function send(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, `${JSON.stringify(body)}\n`, 'application/json');
}
