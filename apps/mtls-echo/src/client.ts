// mTLS echo client (go-spiffe's spiffe-tls example): dials the server over SPIFFE mTLS, authorizing
// only spiffe://example.org/server, says "Hello server" and prints the answer.
import { parseArgs } from 'node:util';
import { SpiffeId, X509Source, authorizeId } from '@spiffe-node/spiffe';
import { dial } from '@spiffe-node/spiffe/tls';

/** The settings: flags, else environment variables, else the upstream example's values. */
function settings() {
  const { values: flags } = parseArgs({
    options: {
      host: { type: 'string', default: process.env.SERVER_HOST ?? '127.0.0.1' },
      port: { type: 'string', default: process.env.SERVER_PORT ?? '55555' },
      'server-id': { type: 'string', default: process.env.SERVER_SPIFFE_ID ?? 'spiffe://example.org/server' },
      socket: { type: 'string' }, // unset: the library reads SPIFFE_ENDPOINT_SOCKET
      timeout: { type: 'string', default: process.env.SPIFFE_STARTUP_TIMEOUT ?? '30' },
    },
  });

  const HOST = flags.host;
  const PORT = Number(flags.port);
  const SERVER_ID = SpiffeId.fromString(flags['server-id']);
  const SOCKET = flags.socket;
  const STARTUP_TIMEOUT_MS = Number(flags.timeout) * 1000;
  return { HOST, PORT, SERVER_ID, SOCKET, STARTUP_TIMEOUT_MS };
}

async function run(): Promise<void> {
  // Bad flags end here too, as one line through run().catch below.
  const { HOST, PORT, SERVER_ID, SOCKET, STARTUP_TIMEOUT_MS } = settings();
  const source = await X509Source.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  try {
    // Resolves once the handshake is done and the server's SVID is authenticated as SERVER_ID.
    const conn = await dial({
      mode: 'mtls',
      svidSource: source,
      bundleSource: source,
      authorizer: authorizeId(SERVER_ID),
      host: HOST,
      port: PORT,
    });
    conn.setEncoding('utf8');
    conn.write('Hello server\n');

    const reply = await new Promise<string>((resolve, reject) => {
      let data = '';
      conn.on('data', (chunk: string) => (data += chunk));
      conn.once('end', () =>
        data
          ? resolve(data)
          : reject(new Error("the server closed the connection without answering (was this client's identity rejected?)")),
      );
      conn.once('error', reject);
    });
    console.log(`Server says: ${reply.trim()}`);
    conn.end();
  } catch (err) {
    throw new Error(`Unable to read server response: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    void source.close();
  }
}

// One line on failure (node's own messages may span several).
run().catch((err: unknown) => {
  console.error(String(err instanceof Error ? err.message : err).replace(/\s*\n\s*/g, ' '));
  process.exit(1);
});
