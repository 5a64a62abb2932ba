/**
 * Command-line options of the example's server and client.
 *
 * @module
 */
import { parseArgs } from 'node:util';

/** A bad command line; printed with the usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Options of `server`. */
export interface ServerOptions {
  mode: 'spiffe' | 'root-ca';
  cert?: string;
  key?: string;
  rootCas: string[];
  svidDir?: string;
  bundle?: string;
  authorizeIds: string[];
  authorizeTds: string[];
  port: number;
  host?: string;
}

export const SERVER_USAGE = `Usage: server (--svid-dir DIR | --cert FILE --key FILE [--bundle FILE | --root-ca FILE ...]) [options]

  --svid-dir DIR        SPIFFE mode, with the files of 'spiffe api fetch x509 -write DIR' (svid.0.pem,
                        svid.0.key, bundle.0.pem, federated_bundle.0.N.pem) or of spiffe helper
  --cert, --key FILE    the server's certificate chain and key
  --bundle FILE         SPIFFE mode with --cert/--key: the bundle of the server's trust domain
  --root-ca FILE        plain mode: a CA to trust client certificates with (repeatable)
  --authorize-id ID     SPIFFE mode: accept only this client SPIFFE ID (repeatable)
  --authorize-td TD     SPIFFE mode: accept the members of this trust domain (repeatable;
                        default: the server's own trust domain)
  --port N              default 9443 (or PORT)
  --host ADDR           default: every interface
`;

function port(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 0 || Number(text) > 65535) throw new UsageError(`--port: "${text}" is not a port number`);
  return Number(text);
}

/**
 * Reads the server's command line.
 *
 * @throws {@link UsageError} for a combination that does not make sense.
 * @example
 * ```ts
 * parseServerArgs(['--svid-dir', '/tmp/server-svids', '--authorize-id', 'spiffe://example.org/client']);
 * ```
 */
export function parseServerArgs(argv: string[], env: Record<string, string | undefined> = process.env): ServerOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        cert: { type: 'string' },
        key: { type: 'string' },
        'root-ca': { type: 'string', multiple: true },
        'svid-dir': { type: 'string' },
        bundle: { type: 'string' },
        'authorize-id': { type: 'string', multiple: true },
        'authorize-td': { type: 'string', multiple: true },
        port: { type: 'string' },
        host: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const rootCas = values['root-ca'] ?? [];
  const svidDir = values['svid-dir'];
  const spiffe = svidDir !== undefined || values.bundle !== undefined;
  if (svidDir !== undefined && (values.cert !== undefined || values.key !== undefined || values.bundle !== undefined)) {
    throw new UsageError('--svid-dir names the certificate, key and bundle files itself: give either --svid-dir or --cert/--key/--bundle');
  }
  if (svidDir === undefined && (values.cert === undefined || values.key === undefined))
    throw new UsageError('give --svid-dir, or both --cert and --key');
  if (spiffe && rootCas.length > 0)
    throw new UsageError(
      '--root-ca is for the plain mode (--cert/--key without --bundle); in SPIFFE mode the client is checked against the bundle of its trust domain',
    );
  const authorizeIds = values['authorize-id'] ?? [];
  const authorizeTds = values['authorize-td'] ?? [];
  if (!spiffe && (authorizeIds.length > 0 || authorizeTds.length > 0))
    throw new UsageError('--authorize-id and --authorize-td need SPIFFE mode (--svid-dir or --bundle)');
  if (authorizeIds.length > 0 && authorizeTds.length > 0) throw new UsageError('give --authorize-id or --authorize-td, not both');
  return {
    mode: spiffe ? 'spiffe' : 'root-ca',
    cert: values.cert,
    key: values.key,
    rootCas,
    svidDir,
    bundle: values.bundle,
    authorizeIds,
    authorizeTds,
    port: port(values.port ?? env['PORT'] ?? '9443'),
    host: values.host,
  };
}

/** Options of `request`. */
export interface RequestOptions {
  url: string;
  key?: string;
  cert?: string;
  rootCas: string[];
  spiffe: boolean;
  socket?: string;
  serverIds: string[];
  serverTds: string[];
}

export const REQUEST_USAGE = `Usage: request [--key FILE --cert FILE] [--root-ca FILE ...] [--url URL]
       request --spiffe [--socket ADDR] [--server-id ID ... | --server-td TD ...] [--url URL]

  --key, --cert FILE    the client's key and certificate chain (mTLS)
  --root-ca FILE        a CA to trust the server with (repeatable; default: Node's CAs)
  --url URL             default https://localhost:9443
  --spiffe              use the client's SVID from the Workload API and check the server's SVID
  --socket ADDR         the Workload API (default: SPIFFE_ENDPOINT_SOCKET)
  --server-id ID        with --spiffe: the server's SPIFFE ID (repeatable)
  --server-td TD        with --spiffe: accept any server of this trust domain (default: the client's)
`;

/**
 * Reads the client's command line.
 *
 * @throws {@link UsageError} for a combination that does not make sense.
 * @example
 * ```ts
 * parseRequestArgs(['--key', 'client.key', '--cert', 'client.pem', '--root-ca', 'ca.pem']);
 * ```
 */
export function parseRequestArgs(argv: string[]): RequestOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string', default: 'https://localhost:9443' },
        key: { type: 'string' },
        cert: { type: 'string' },
        'root-ca': { type: 'string', multiple: true },
        spiffe: { type: 'boolean', default: false },
        socket: { type: 'string' },
        'server-id': { type: 'string', multiple: true },
        'server-td': { type: 'string', multiple: true },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const spiffe = values.spiffe === true;
  if ((values.key === undefined) !== (values.cert === undefined)) throw new UsageError('give --key and --cert together');
  if (spiffe && (values.key !== undefined || (values['root-ca'] ?? []).length > 0)) {
    throw new UsageError(
      '--spiffe takes the client SVID and the trust bundles from the Workload API: leave out --key, --cert and --root-ca',
    );
  }
  if (!spiffe && (values.socket !== undefined || values['server-id'] !== undefined || values['server-td'] !== undefined)) {
    throw new UsageError('--socket, --server-id and --server-td go with --spiffe');
  }
  return {
    url: values.url,
    key: values.key,
    cert: values.cert,
    rootCas: values['root-ca'] ?? [],
    spiffe,
    socket: values.socket,
    serverIds: values['server-id'] ?? [],
    serverTds: values['server-td'] ?? [],
  };
}
