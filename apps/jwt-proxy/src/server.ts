// JWT-SVID server (go-spiffe's spiffe-jwt-using-proxy example): serves TLS with its X509-SVID (no
// client certificate) and accepts a request only with a JWT-SVID for audience
// spiffe://example.org/server in `Authorization: Bearer`.
import { parseArgs } from 'node:util';
import express from 'express';
import { JwtSource, X509Source, parseAndValidateJwtSvid } from '@spiffe-node/spiffe';
import { createHttpsServer, tlsServerOptions } from '@spiffe-node/spiffe/tls';

/** The settings: flags, else environment variables, else the upstream example's values. */
function settings() {
  const { values: flags } = parseArgs({
    options: {
      host: { type: 'string', default: process.env.SERVER_HOST ?? '0.0.0.0' },
      port: { type: 'string', default: process.env.SERVER_PORT ?? '8080' },
      audience: { type: 'string', default: process.env.JWT_AUDIENCE ?? 'spiffe://example.org/server' },
      socket: { type: 'string' }, // unset: the library reads SPIFFE_ENDPOINT_SOCKET
      timeout: { type: 'string', default: process.env.SPIFFE_STARTUP_TIMEOUT ?? '30' },
    },
  });

  const HOST = flags.host;
  const PORT = Number(flags.port);
  const AUDIENCES = [flags.audience];
  const SOCKET = flags.socket;
  const STARTUP_TIMEOUT_MS = Number(flags.timeout) * 1000;
  return { HOST, PORT, AUDIENCES, SOCKET, STARTUP_TIMEOUT_MS };
}

async function run(): Promise<void> {
  // Bad flags end here too, as one line through run().catch below.
  const { HOST, PORT, AUDIENCES, SOCKET, STARTUP_TIMEOUT_MS } = settings();
  const x509Source = await X509Source.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  const jwtSource = await JwtSource.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });

  const app = express();
  app.get('/', async (req, res) => {
    const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    if (!token) {
      console.log('Invalid token: no bearer token in the Authorization header');
      res.sendStatus(401);
      return;
    }
    try {
      // Verifies the signature against the JWT bundle of the token's trust domain, and the audience.
      const svid = await parseAndValidateJwtSvid(token, jwtSource, AUDIENCES);
      console.log(`Request received from ${svid.id}`);
      res.type('text/plain').send('Success!!!');
    } catch (err) {
      console.log(`Invalid token: ${err instanceof Error ? err.message : String(err)}`);
      res.sendStatus(401);
    }
  });

  const server = createHttpsServer(tlsServerOptions(x509Source), app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(PORT, HOST, resolve);
  });
  console.log(`Server listening on https://${HOST}:${PORT} as ${x509Source.getX509Svid().id}`);

  const stop = (): void => {
    server.close();
    x509Source.close();
    jwtSource.close();
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
