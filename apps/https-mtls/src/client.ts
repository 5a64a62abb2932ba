// HTTPS over SPIFFE mTLS (go-spiffe's spiffe-http example): fetch with a SPIFFE dispatcher that
// presents this workload's SVID and accepts only spiffe://example.org/server, then prints the body.
import { parseArgs } from 'node:util';
import { SpiffeId, X509Source, authorizeId } from '@spiffe-node/spiffe';
import { createSpiffeDispatcher } from '@spiffe-node/spiffe/undici';
import { fetch } from 'undici';

/** The settings: flags, else environment variables, else the upstream example's values. */
function settings() {
  const { values: flags } = parseArgs({
    options: {
      url: { type: 'string', default: process.env.SERVER_URL ?? 'https://localhost:8443/' },
      'server-id': { type: 'string', default: process.env.SERVER_SPIFFE_ID ?? 'spiffe://example.org/server' },
      socket: { type: 'string' }, // unset: the library reads SPIFFE_ENDPOINT_SOCKET
      timeout: { type: 'string', default: process.env.SPIFFE_STARTUP_TIMEOUT ?? '30' },
    },
  });

  const URL = flags.url;
  const SERVER_ID = SpiffeId.fromString(flags['server-id']);
  const SOCKET = flags.socket;
  const STARTUP_TIMEOUT_MS = Number(flags.timeout) * 1000;
  return { URL, SERVER_ID, SOCKET, STARTUP_TIMEOUT_MS };
}

async function run(): Promise<void> {
  // Bad flags end here too, as one line through run().catch below.
  const { URL, SERVER_ID, SOCKET, STARTUP_TIMEOUT_MS } = settings();
  const source = await X509Source.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  const dispatcher = createSpiffeDispatcher({
    svidSource: source,
    bundleSource: source,
    authorizer: authorizeId(SERVER_ID),
  });
  try {
    const res = await fetch(URL, { dispatcher });
    console.log(await res.text());
    if (!res.ok) process.exitCode = 1;
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new Error(`Error connecting to "${URL}": ${cause}`);
  } finally {
    await dispatcher.close();
    source.close();
  }
}

// One line on failure (node's own messages may span several).
run().catch((err: unknown) => {
  console.error(String(err instanceof Error ? err.message : err).replace(/\s*\n\s*/g, ' '));
  process.exit(1);
});
