// Gateway client (after WSO2 APK's mTLS guide): calls an API through the gateway over TLS,
// authenticating the gateway by its SPIFFE ID (--server-id), presenting its own X509-SVID (unless
// --anonymous) and, with --jwt-audience, a JWT-SVID for that audience as a bearer token; --header
// adds headers. Prints the status and body; exits 1 unless the status is 2xx.
import { parseArgs } from 'node:util';
import { JwtSource, SpiffeId, X509Source, authorizeId } from '@spiffe-node/spiffe';
import { createSpiffeDispatcher } from '@spiffe-node/spiffe/undici';
import { request } from 'undici';

const { values: flags } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.GATEWAY_URL ?? 'https://localhost:9095/employee/3.14/employee' },
    method: { type: 'string', default: 'GET' },
    data: { type: 'string' },
    'server-id': { type: 'string', default: process.env.GATEWAY_SPIFFE_ID ?? 'spiffe://example.org/api-gateway' },
    header: { type: 'string', multiple: true, default: [] },
    'jwt-audience': { type: 'string' },
    anonymous: { type: 'boolean', default: false },
    socket: { type: 'string', default: process.env.SPIFFE_ENDPOINT_SOCKET },
    timeout: { type: 'string', default: process.env.SPIFFE_STARTUP_TIMEOUT ?? '30' },
  },
});

const URL_ = flags.url;
const METHOD = flags.method.toUpperCase();
const SERVER_ID = SpiffeId.fromString(flags['server-id']);
const HEADERS = flags.header.map((h) => {
  const colon = h.indexOf(':');
  if (colon <= 0) throw new TypeError(`--header must be "Name: value", got "${h}"`);
  return [h.slice(0, colon).trim(), h.slice(colon + 1).trim()] as const;
});
const SOCKET = flags.socket;
const STARTUP_TIMEOUT_MS = Number(flags.timeout) * 1000;

async function run(): Promise<void> {
  const x509Source = await X509Source.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  const jwtSource =
    flags['jwt-audience'] === undefined ? undefined : await JwtSource.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  const dispatcher = createSpiffeDispatcher({
    ...(flags.anonymous ? {} : { svidSource: x509Source }),
    bundleSource: x509Source,
    authorizer: authorizeId(SERVER_ID),
  });
  try {
    const headers: Record<string, string> = Object.fromEntries(HEADERS);
    if (jwtSource !== undefined) {
      const svid = await jwtSource.fetchJwtSvid({ audience: flags['jwt-audience']! });
      headers.authorization = `Bearer ${svid.token}`;
    }
    if (flags.data !== undefined) headers['content-type'] = 'application/json';
    const res = await request(URL_, {
      dispatcher,
      method: METHOD as 'GET',
      headers,
      ...(flags.data === undefined ? {} : { body: flags.data }),
    });
    const body = await res.body.text();
    console.log(`${res.statusCode} ${body}`);
    if (res.statusCode < 200 || res.statusCode > 299) process.exitCode = 1;
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    throw new Error(`Error connecting to "${URL_}": ${cause}`);
  } finally {
    await dispatcher.close();
    await x509Source.close();
    await jwtSource?.close();
  }
}

run().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
