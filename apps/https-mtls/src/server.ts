// HTTPS over SPIFFE mTLS (go-spiffe's spiffe-http example): an express server that accepts only
// spiffe://example.org/client, logs "Request received" and answers "Success!!!".
import { parseArgs } from 'node:util';
import express from 'express';
import { SpiffeId, X509Source, authorizeId, type TlsPeerError } from '@spiffe-node/spiffe';
import type { TLSSocket } from 'node:tls';
import { createHttpsServer, mtlsServerOptions, peerIdFromSocket } from '@spiffe-node/spiffe/tls';

/** The settings: flags, else environment variables, else the upstream example's values. */
function settings() {
  const { values: flags } = parseArgs({
    options: {
      host: { type: 'string', default: process.env.SERVER_HOST ?? '0.0.0.0' },
      port: { type: 'string', default: process.env.SERVER_PORT ?? '8443' },
      'client-id': { type: 'string', default: process.env.CLIENT_SPIFFE_ID ?? 'spiffe://example.org/client' },
      socket: { type: 'string' }, // unset: the library reads SPIFFE_ENDPOINT_SOCKET
      timeout: { type: 'string', default: process.env.SPIFFE_STARTUP_TIMEOUT ?? '30' },
    },
  });

  const HOST = flags.host;
  const PORT = Number(flags.port);
  const CLIENT_ID = SpiffeId.fromString(flags['client-id']);
  const SOCKET = flags.socket;
  const STARTUP_TIMEOUT_MS = Number(flags.timeout) * 1000;
  return { HOST, PORT, CLIENT_ID, SOCKET, STARTUP_TIMEOUT_MS };
}

async function run(): Promise<void> {
  // Bad flags end here too, as one line through run().catch below.
  const { HOST, PORT, CLIENT_ID, SOCKET, STARTUP_TIMEOUT_MS } = settings();
  const source = await X509Source.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });

  const app = express();
  app.get('/', (req, res) => {
    console.log(`Request received from ${peerIdFromSocket(req.socket as TLSSocket)}`);
    res.type('text/plain').send('Success!!!');
  });

  // Presents our SVID, requires the client's, and lets only CLIENT_ID through to express.
  const server = createHttpsServer(mtlsServerOptions(source, source, authorizeId(CLIENT_ID)), app);
  server.on('spiffeRejected', (err: TlsPeerError, socket: { remoteAddress?: string; remotePort?: number }) => {
    console.log(`TLS handshake error from ${socket.remoteAddress}:${socket.remotePort}: ${err.reason?.message ?? err.message}`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(PORT, HOST, resolve);
  });
  console.log(`Server listening on https://${HOST}:${PORT} as ${source.getX509Svid().id}`);

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
