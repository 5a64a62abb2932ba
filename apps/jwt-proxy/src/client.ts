// JWT-SVID client (go-spiffe's spiffe-jwt-using-proxy example): fetches a JWT-SVID for the audience
// given as the first argument (default spiffe://example.org/server) and calls the proxy over TLS
// with it as a bearer token, authenticating the proxy as spiffe://example.org/server.
import { parseArgs } from 'node:util';
import { JwtSource, SpiffeId, X509Source, authorizeId } from '@spiffe-node/spiffe';
import { createSpiffeDispatcher } from '@spiffe-node/spiffe/undici';
import { fetch } from 'undici';

/** The settings: flags, else environment variables, else the upstream example's values. */
function settings() {
  const { values: flags, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: process.env.PROXY_URL ?? 'https://localhost:8443/' },
      'server-id': { type: 'string', default: process.env.SERVER_SPIFFE_ID ?? 'spiffe://example.org/server' },
      socket: { type: 'string' }, // unset: the library reads SPIFFE_ENDPOINT_SOCKET
      timeout: { type: 'string', default: process.env.SPIFFE_STARTUP_TIMEOUT ?? '30' },
    },
  });

  const URL = flags.url;
  const AUDIENCE = positionals[0] ?? 'spiffe://example.org/server';
  const SERVER_ID = SpiffeId.fromString(flags['server-id']);
  const SOCKET = flags.socket;
  const STARTUP_TIMEOUT_MS = Number(flags.timeout) * 1000;
  return { URL, AUDIENCE, SERVER_ID, SOCKET, STARTUP_TIMEOUT_MS };
}

async function run(): Promise<void> {
  // Bad flags end here too, as one line through run().catch below.
  const { URL, AUDIENCE, SERVER_ID, SOCKET, STARTUP_TIMEOUT_MS } = settings();
  const x509Source = await X509Source.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  const jwtSource = await JwtSource.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  // TLS only: the proxy is authenticated by its SVID; the client's identity travels in the JWT.
  const dispatcher = createSpiffeDispatcher({ bundleSource: x509Source, authorizer: authorizeId(SERVER_ID) });
  try {
    const svid = await jwtSource.fetchJwtSvid({ audience: AUDIENCE });
    const res = await fetch(URL, { dispatcher, headers: { authorization: `Bearer ${svid.token}` } });
    if (res.status === 200) {
      console.log(await res.text());
    } else {
      await res.body?.cancel();
      console.log(`${res.status} ${res.statusText}`);
      process.exitCode = 1;
    }
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new Error(`Error connecting to "${URL}": ${cause}`);
  } finally {
    await dispatcher.close();
    x509Source.close();
    jwtSource.close();
  }
}

// One line on failure (node's own messages may span several).
run().catch((err: unknown) => {
  console.error(String(err instanceof Error ? err.message : err).replace(/\s*\n\s*/g, ' '));
  process.exit(1);
});
