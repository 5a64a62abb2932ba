// API gateway (after WSO2 APK's mTLS guide): serves TLS with its X509-SVID on 9095, asks for a
// client certificate without requiring one, routes /<basePath>/<version>/<target> to the API
// definitions of its configuration, applies each API's mTLS / JWT rules, and forwards to the API's
// endpoint with the client identity in x-forwarded-client-cert. SIGHUP reloads the configuration
// (an invalid one is refused and the running one kept). `--check` only validates the configuration.
import { parseArgs } from 'node:util';
import { JwtSource, X509Source } from '@spiffe-node/spiffe';
import { ApiGateway, describeApi } from './api-gateway.js';
import { GatewayConfigError } from './config-error.js';
import { loadGatewayConfig, type GatewayConfig } from './gateway-config.js';

const { values: flags } = parseArgs({
  options: {
    config: { type: 'string', default: process.env.GATEWAY_CONFIG ?? 'config/gateway.yaml' },
    host: { type: 'string', default: process.env.GATEWAY_HOST ?? '0.0.0.0' },
    port: { type: 'string', default: process.env.GATEWAY_PORT ?? '9095' },
    socket: { type: 'string', default: process.env.SPIFFE_ENDPOINT_SOCKET },
    timeout: { type: 'string', default: process.env.SPIFFE_STARTUP_TIMEOUT ?? '30' },
    check: { type: 'boolean', default: false },
  },
});

const CONFIG_FILE = flags.config;
const HOST = flags.host;
const PORT = Number(flags.port);
const SOCKET = flags.socket;
const STARTUP_TIMEOUT_MS = Number(flags.timeout) * 1000;

function describeConfig(config: GatewayConfig): string[] {
  const proxies = config.trustedProxies.length === 0 ? 'none' : config.trustedProxies.join(', ');
  return [
    ...config.apis.map(describeApi),
    `Client certificate header: ${config.clientCertificateHeader} (believed from trusted proxies: ${proxies})`,
  ];
}

async function run(): Promise<void> {
  let config = await loadGatewayConfig(CONFIG_FILE);
  if (flags.check) {
    for (const line of describeConfig(config)) console.log(line);
    console.log(`Configuration OK: ${CONFIG_FILE}`);
    return;
  }
  const x509Source = await X509Source.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  const jwtSource = await JwtSource.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  const gateway = new ApiGateway({ svidSource: x509Source, x509Bundles: x509Source, jwtBundles: jwtSource, config });
  const server = gateway.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(PORT, HOST, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : PORT;
  for (const line of describeConfig(config)) console.log(line);
  console.log(`Gateway listening on https://${HOST}:${port} as ${x509Source.getX509Svid().id}`);

  // Reloads run one after the other; a signal during a reload queues one more.
  let reloading: Promise<void> = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      try {
        config = await loadGatewayConfig(CONFIG_FILE);
        gateway.apply(config);
        for (const line of describeConfig(config)) console.log(line);
        console.log(`Configuration reloaded: ${config.apis.length} API${config.apis.length === 1 ? '' : 's'}`);
      } catch (err) {
        const why = err instanceof GatewayConfigError ? err.message : `${CONFIG_FILE}: ${err instanceof Error ? err.message : String(err)}`;
        console.log(`Reload refused, keeping the running configuration: ${why}`);
      }
    });
  });

  const stop = (): void => {
    server.close();
    server.closeIdleConnections();
    gateway.close();
    void x509Source.close();
    void jwtSource.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

run().catch((err: unknown) => {
  if (err instanceof GatewayConfigError) console.error(`Invalid configuration: ${err.message}`);
  else console.error(`Gateway failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
