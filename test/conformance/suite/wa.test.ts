/**
 * Catalogue §4, `WA`: Workload API client behaviour (reconnects, malformed responses, default
 * identity, withdrawal; feature `x509-server`).
 */
import { status } from '@grpc/grpc-js';
import { x509SvidMessage, type X509SvidResponseMessage } from '@spiffe-node/test-kit/fake-agent';
import { conformanceGroup, type ConformanceCase } from './lib/cases.js';
import { DEFAULT_ID, sleep } from './lib/env.js';
import { ignoresBadUpdate } from './lib/serving.js';

/** WA-1: how long the SDK may take to open a new stream (room for its backoff). */
const RECONNECT_MS = 15_000;
/** WA-4: how long the SDK may keep presenting a withdrawn SVID. */
const WA4_MS = 5000;

/** WA-2: one mandatory field of a valid response set to its default value. */
const WA2_VARIANTS: readonly { name: string; field: string; blank(r: X509SvidResponseMessage): void }[] = [
  { name: 'empty-svids', field: 'svids', blank: (r) => void (r.svids = []) },
  { name: 'empty-spiffe-id', field: 'spiffe_id', blank: (r) => void ((r.svids[0] as { spiffe_id: string }).spiffe_id = '') },
  {
    name: 'empty-x509-svid',
    field: 'x509_svid',
    blank: (r) => void ((r.svids[0] as { x509_svid: Uint8Array }).x509_svid = Buffer.alloc(0)),
  },
  {
    name: 'empty-key',
    field: 'x509_svid_key',
    blank: (r) => void ((r.svids[0] as { x509_svid_key: Uint8Array }).x509_svid_key = Buffer.alloc(0)),
  },
  { name: 'empty-bundle', field: 'bundle', blank: (r) => void ((r.svids[0] as { bundle: Uint8Array }).bundle = Buffer.alloc(0)) },
];

const cases: ConformanceCase[] = [
  {
    id: 'WA-1',
    level: 'SHOULD',
    title: 'Re-establishes the stream after the server closes it',
    async run(env) {
      await env.waitForSvid(DEFAULT_ID);
      const b = env.ca.svid('/wa-1-b');
      const before = env.agent.callsTo('FetchX509SVID').length;
      for (const m of ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTBundles'] as const) {
        env.agent.failStreams(m, { code: status.UNAVAILABLE, details: 'scripted stream close' });
      }
      const deadline = Date.now() + RECONNECT_MS;
      while (env.agent.callsTo('FetchX509SVID').length === before) {
        if (Date.now() > deadline)
          throw new Error(
            `the SDK opened no new FetchX509SVID stream within ${RECONNECT_MS} ms after the server closed it with Unavailable`,
          );
        await sleep(50);
      }
      // B can only arrive on the new stream.
      env.serveX509({ svids: [b] });
      await env.waitForSvid(b.id).catch((err: Error) => {
        throw new Error(`after the stream was re-established: ${err.message}`);
      });
    },
  },
  ...WA2_VARIANTS.map((v): ConformanceCase => ({
    id: `WA-2/${v.name}`,
    level: 'SHOULD',
    title: `Discards a response in which a mandatory field has its default value (${v.field})`,
    async run(env) {
      const c = env.ca.svid(`/wa-2-${v.name}`);
      const response: X509SvidResponseMessage = { svids: [x509SvidMessage(c, [env.ca.certificate])], federated_bundles: {} };
      v.blank(response);
      await ignoresBadUpdate(env, '/wa-2', `a response with an empty ${v.field}`, response, c.leaf);
    },
  })),
  {
    id: 'WA-3',
    level: 'MUST',
    title: 'Uses the first SVID in the response as the default identity',
    async run(env) {
      const a = env.ca.svid('/wa-3-a');
      const b = env.ca.svid('/wa-3-b');
      env.serveX509({ svids: [a, b] });
      await env.waitForSvid(a.id).catch((err: Error) => {
        throw new Error(`response [A, B]: ${err.message}`);
      });
      env.serveX509({ svids: [b, a] });
      await env.waitForSvid(b.id).catch((err: Error) => {
        throw new Error(`response [B, A]: ${err.message}`);
      });
    },
  },
  {
    id: 'WA-4',
    level: 'SHOULD',
    title: 'Stops using SVIDs after the stream returns PermissionDenied',
    async run(env) {
      await env.waitForSvid(DEFAULT_ID);
      // FetchX509Bundles keeps working: a failing probe then means the SDK dropped its SVID.
      const denied = { code: status.PERMISSION_DENIED, details: 'no identity issued' };
      env.agent.failAllCalls('FetchX509SVID', denied);
      env.agent.failStreams('FetchX509SVID', denied);
      const deadline = Date.now() + WA4_MS;
      for (;;) {
        let ids: string[];
        try {
          ids = (await env.probeX509()).ids;
        } catch {
          return; // no longer presenting A
        }
        if (!ids.includes(DEFAULT_ID)) return;
        if (Date.now() > deadline)
          throw new Error(`the SDK still presented ${DEFAULT_ID} ${WA4_MS} ms after the stream ended with PermissionDenied`);
        await sleep(100);
      }
    },
  },
];

conformanceGroup('WA', cases, { concurrency: 4 });
