// TLS reverse proxy (go-spiffe's spiffe-jwt-using-proxy example): serves TLS with its X509-SVID,
// logs each request, and forwards `/` only to the server over TLS, authenticating the server as
// spiffe://example.org/server.
import { createServer as createHttpServer } from 'node:http';
import { parseArgs } from 'node:util';
import httpProxy from 'http-proxy';
import { SpiffeId, X509Source, authorizeId } from '@spiffe-node/spiffe';
import { createHttpsServer, createSpiffeHttpsAgent, tlsServerOptions } from '@spiffe-node/spiffe/tls';

/** The settings: flags, else environment variables, else the upstream example's values. */
function settings() {
  const { values: flags } = parseArgs({
    options: {
      host: { type: 'string', default: process.env.PROXY_HOST ?? '0.0.0.0' },
      port: { type: 'string', default: process.env.PROXY_PORT ?? '8443' },
      upstream: { type: 'string', default: process.env.UPSTREAM_URL ?? 'https://localhost:8080' },
      'server-id': { type: 'string', default: process.env.SERVER_SPIFFE_ID ?? 'spiffe://example.org/server' },
      socket: { type: 'string' }, // unset: the library reads SPIFFE_ENDPOINT_SOCKET
      timeout: { type: 'string', default: process.env.SPIFFE_STARTUP_TIMEOUT ?? '30' },
    },
  });

  const HOST = flags.host;
  const PORT = Number(flags.port);
  const UPSTREAM = flags.upstream;
  const SERVER_ID = SpiffeId.fromString(flags['server-id']);
  const SOCKET = flags.socket;
  const STARTUP_TIMEOUT_MS = Number(flags.timeout) * 1000;
  return { HOST, PORT, UPSTREAM, SERVER_ID, SOCKET, STARTUP_TIMEOUT_MS };
}

async function run(): Promise<void> {
  // Bad flags end here too, as one line through run().catch below.
  const { HOST, PORT, UPSTREAM, SERVER_ID, SOCKET, STARTUP_TIMEOUT_MS } = settings();
  const source = await X509Source.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });

  // Upstream connections: TLS, the server authenticated by its SVID (the proxy presents none).
  const agent = createSpiffeHttpsAgent({ bundleSource: source, authorizer: authorizeId(SERVER_ID), agentOptions: { keepAlive: true } });
  const proxy = httpProxy.createProxyServer({ target: UPSTREAM, agent, secure: false, changeOrigin: false });
  proxy.on('error', (err, _req, res) => {
    console.log(`Proxy error: ${err.message}`);
    if ('writeHead' in res && !res.headersSent) res.writeHead(502).end('Bad Gateway');
    else res.destroy();
  });

  const handler: Parameters<typeof createHttpServer>[1] = (req, res) => {
    console.log(`${req.method} ${req.url}`);
    if (req.url !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    proxy.web(req, res);
  };
  const server = createHttpsServer(tlsServerOptions(source), handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(PORT, HOST, resolve);
  });
  console.log(`Proxy listening on https://${HOST}:${PORT}, forwarding / to ${UPSTREAM}`);

  const stop = (): void => {
    server.close();
    agent.destroy();
    source.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// One line on failure (node's own messages may span several).
run().catch((err: unknown) => {
  console.error(`Proxy failed: ${String(err instanceof Error ? err.message : err).replace(/\s*\n\s*/g, ' ')}`);
  process.exit(1);
});
