// mTLS echo server (go-spiffe's spiffe-tls example): accepts SPIFFE mTLS connections from
// spiffe://example.org/client, reads the client's message, logs it and answers "Hello client".
import type { TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';
import { SpiffeId, X509Source, authorizeId, type TlsPeerError } from '@spiffe-node/spiffe';
import { listen } from '@spiffe-node/spiffe/tls';

/** The settings: flags, else environment variables, else the upstream example's values. */
function settings() {
  const { values: flags } = parseArgs({
    options: {
      host: { type: 'string', default: process.env.SERVER_HOST ?? '0.0.0.0' },
      port: { type: 'string', default: process.env.SERVER_PORT ?? '55555' },
      'client-id': { type: 'string', default: process.env.CLIENT_SPIFFE_ID ?? 'spiffe://example.org/client' },
      socket: { type: 'string' }, // unset: the library reads SPIFFE_ENDPOINT_SOCKET
      timeout: { type: 'string', default: process.env.SPIFFE_STARTUP_TIMEOUT ?? '30' },
    },
  });

  const HOST = flags.host;
  const PORT = Number(flags.port);
  const CLIENT_ID = SpiffeId.fromString(flags['client-id']);
  const SOCKET = flags.socket; // undefined: the library reads SPIFFE_ENDPOINT_SOCKET
  const STARTUP_TIMEOUT_MS = Number(flags.timeout) * 1000;
  return { HOST, PORT, CLIENT_ID, SOCKET, STARTUP_TIMEOUT_MS };
}

async function run(): Promise<void> {
  // Bad flags end here too, as one line through run().catch below.
  const { HOST, PORT, CLIENT_ID, SOCKET, STARTUP_TIMEOUT_MS } = settings();
  // Fetches this workload's X509-SVID and trust bundles, and keeps them current.
  const source = await X509Source.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });

  // SPIFFE mTLS: present our SVID, require the client's, and authorize only CLIENT_ID.
  const server = listen({
    mode: 'mtls',
    svidSource: source,
    bundleSource: source,
    authorizer: authorizeId(CLIENT_ID),
    host: HOST,
    port: PORT,
  });

  server.on('secureConnection', (conn: TLSSocket) => {
    conn.setEncoding('utf8');
    conn.once('data', (message: string) => {
      console.log(`Client says: ${message.trim()}`);
      conn.end('Hello client\n');
    });
    conn.on('error', (err) => console.log(`Error reading incoming data: ${err.message}`));
  });
  // A client that fails SPIFFE authentication never reaches the handler above.
  server.on('spiffeRejected', (err: TlsPeerError) => {
    console.log(`Error reading incoming data: ${err.reason?.message ?? err.message}`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  console.log(`Server listening on ${HOST}:${PORT} as ${source.getX509Svid().id}`);

  const stop = (): void => {
    server.close();
    source.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// One line on failure (node's own messages may span several).
run().catch((err: unknown) => {
  console.error(`Server failed: ${String(err instanceof Error ? err.message : err).replace(/\s*\n\s*/g, ' ')}`);
  process.exit(1);
});
