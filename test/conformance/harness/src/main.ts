/**
 * The SPIFFE conformance harness of `@spiffe-node/spiffe`, contract v1 of
 * `arndt-s/spiffe-conformance-test-suite` (`docs/HARNESS_CONTRACT.md`).
 *
 * A thin shim: endpoint discovery, streams, retries, SVID and bundle selection and every
 * validation are the SDK's. The harness only wires the public API together:
 *
 * - one `WorkloadApiClient` from `SPIFFE_ENDPOINT_SOCKET` (no address is configured);
 * - an `X509Source` (the X.509 port and `/v1/x509/dial`) and a `JwtSource` (the JWT bundles
 *   `/v1/jwt/validate` validates against, locally; `ValidateJWTSVID` is never called);
 * - stdout: `SPIFFE_HARNESS_VERSION=1`, `SPIFFE_CONTROL_PORT=<p>`, `SPIFFE_X509_PORT=<p>`, then
 *   `READY` once the X.509 port listens with an SVID held; logs go to stderr;
 * - if the X509Source cannot start (a bad endpoint, `InvalidArgument`), the harness logs why
 *   and exits 1 without `READY`; it never retries on its own;
 * - `SIGTERM`/`SIGINT`: closes everything and exits 0 at once.
 *
 * Run it with `test/conformance/harness/run`.
 *
 * @module
 */
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import type tls from 'node:tls';
import { JwtSource, WorkloadApiClient, X509Source } from '@spiffe-node/spiffe';
import { createControlServer } from './control.js';
import { errorText, log, stderrLogger } from './log.js';
import { startX509Port } from './x509-port.js';

/** The sources never give up waiting on their own: the suite decides how long to wait. */
const SOURCE_START_TIMEOUT_MS = 24 * 60 * 60 * 1000;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function portOf(server: http.Server | tls.Server): number {
  return (server.address() as AddressInfo).port;
}

async function main(): Promise<void> {
  let client: WorkloadApiClient;
  try {
    client = new WorkloadApiClient({ logger: stderrLogger });
  } catch (err) {
    log(`cannot use the Workload API endpoint: ${errorText(err)}`);
    process.exit(1);
  }
  log(`Workload API endpoint ${client.address.url} (from ${client.address.from === 'env' ? 'SPIFFE_ENDPOINT_SOCKET' : 'options'})`);

  let x509Source: X509Source | undefined;
  let jwtSource: JwtSource | undefined;
  let x509Server: tls.Server | undefined;
  let stopping = false;

  const jwtReady = JwtSource.create({ client, timeoutMs: SOURCE_START_TIMEOUT_MS }).then((source) => {
    jwtSource = source;
    log('JwtSource ready: JWT bundles received');
    return source;
  });
  jwtReady.catch((err: unknown) => {
    if (!stopping) log(`JwtSource could not start: ${errorText(err)}`);
  });

  const control = createControlServer({ client, x509Source: () => x509Source, jwtSource: () => jwtReady });

  const shutdown = async (): Promise<void> => {
    x509Server?.close();
    control.close();
    control.closeAllConnections();
    await Promise.allSettled([x509Source?.close(), jwtSource?.close()]);
    client.close();
  };
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: exiting`);
    setTimeout(() => process.exit(0), 1000).unref();
    void shutdown().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  say('SPIFFE_HARNESS_VERSION=1');
  await new Promise<void>((resolve, reject) => {
    control.once('error', reject);
    control.listen(0, '127.0.0.1', () => resolve());
  });
  say(`SPIFFE_CONTROL_PORT=${portOf(control)}`);

  try {
    x509Source = await X509Source.create({ client, timeoutMs: SOURCE_START_TIMEOUT_MS });
  } catch (err) {
    if (stopping) return;
    log(`X509Source could not start, so the harness will not become ready: ${errorText(err)}`);
    await shutdown();
    process.exit(1);
  }
  if (stopping) return;
  log(`X509Source ready: ${x509Source.getX509Svid().id.toString()}`);
  x509Source.on('update', (ctx) => log(`X509Source update: default SVID ${ctx.svids[0]?.id.toString() ?? '(none)'}`));

  x509Server = await startX509Port(x509Source);
  say(`SPIFFE_X509_PORT=${portOf(x509Server)}`);
  say('READY');
  log(`ready: X.509 port ${portOf(x509Server)}, control port ${portOf(control)}`);
}

main().catch((err: unknown) => {
  log(`fatal: ${err instanceof Error && err.stack ? err.stack : errorText(err)}`);
  process.exit(1);
});
