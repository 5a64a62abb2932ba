#!/usr/bin/env node
/**
 * Load for the fault tests: a workload that calls an https-mtls server over SPIFFE mTLS without
 * pause, a new TLS handshake for every request (so every request checks the SVIDs in force at
 * that moment), `--concurrency` callers at once, until SIGTERM. It prints `progress requests=N
 * failed=M` every 500 ms, one `failed: <reason>` line per failed request, `svid <id> serial <hex>
 * expires <iso> authority <key id of the signing CA>` for its first SVID and each renewal, and on SIGTERM `done requests=N failed=M`. A request fails when it throws or does not answer 200 "Success!!!".
 *
 *   node load.js --url https://10.231.0.11:8443/ --server-id spiffe://example.org/server
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { SpiffeId, X509Source, authorizeId } from '@spiffe-node/spiffe';
import { createSpiffeDispatcher } from '@spiffe-node/spiffe/undici';
import { request } from 'undici';
import { authorityKeyId } from './key-ids.js';

const { values: flags } = parseArgs({
  options: {
    url: { type: 'string' },
    'server-id': { type: 'string' },
    concurrency: { type: 'string', default: '2' },
    'timeout-ms': { type: 'string', default: '10000' },
  },
});
if (!flags.url || !flags['server-id']) {
  console.error('load: --url and --server-id are required');
  process.exit(2);
}
const url = flags.url;
const serverId = SpiffeId.fromString(flags['server-id']);
const timeoutMs = Number(flags['timeout-ms']);

let requests = 0;
let failed = 0;
let stopping = false;

async function caller(dispatcher: ReturnType<typeof createSpiffeDispatcher>): Promise<void> {
  while (!stopping) {
    requests++;
    try {
      // reset: the connection closes after the answer, so the next request does a new handshake.
      const res = await request(url, { dispatcher, reset: true, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      const body = await res.body.text();
      if (res.statusCode !== 200 || body !== 'Success!!!') throw new Error(`answer ${res.statusCode} ${JSON.stringify(body.slice(0, 80))}`);
    } catch (err) {
      failed++;
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      console.log(`failed: ${new Date().toISOString()} ${err instanceof Error ? err.message : String(err)}${cause}`);
      // A failure can be instant (no SVID): do not spin.
      await sleep(100);
    }
  }
}

async function run(): Promise<void> {
  const source = await X509Source.create({ timeoutMs: 30_000 });
  const dispatcher = createSpiffeDispatcher({ svidSource: source, bundleSource: source, authorizer: authorizeId(serverId) });
  // Each SVID the source takes in (the first, then every renewal), for the rotation checks.
  const report = (svid = source.getX509Svid()): void =>
    console.log(
      `svid ${svid.id} serial ${svid.certificates[0]!.serialNumber} expires ${svid.expiresAt.toISOString()} authority ${authorityKeyId(svid.certificates[0]!) ?? '-'}`,
    );
  report();
  source.on('update', () => report());
  const progress = setInterval(() => console.log(`progress requests=${requests} failed=${failed}`), 500);
  const callers = Array.from({ length: Number(flags.concurrency) }, () => caller(dispatcher));
  console.log(`load started against ${url} as ${source.getX509Svid().id}`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  stopping = true;
  await Promise.all(callers);
  clearInterval(progress);
  console.log(`done requests=${requests} failed=${failed}`);
  await dispatcher.close();
  void source.close();
}

run().catch((err: unknown) => {
  console.error(`load failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
