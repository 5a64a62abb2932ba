/**
 * Catalogue §8, `HX`: hardening (level OPT in the catalogue; for us every case must pass). The
 * SDK must ignore a Workload API X509-SVID that fails its own checks: keep presenting the
 * valid SVID A until the valid barrier SVID B arrives, and never present the bad one.
 */
import { X509Certificate } from 'node:crypto';
import { TestCa, type TestSvid } from '@spiffe-node/test-kit';
import { x509SvidMessage, type X509SvidMessage } from '@spiffe-node/test-kit/fake-agent';
import { conformanceGroup, type ConformanceCase } from './lib/cases.js';
import { TD_ID, TRUST_DOMAIN, type ConformanceEnv } from './lib/env.js';
import { ignoresBadUpdate } from './lib/serving.js';

const HOUR = 3600_000;

interface HxCase {
  id: string;
  what: string;
  /** Builds the bad SVID message (served with the suite CA's bundle) and its leaf. */
  bad(env: ConformanceEnv, id: string): { message: X509SvidMessage; leaf: X509Certificate };
}

function plain(
  env: ConformanceEnv,
  svid: TestSvid,
  overrides: Partial<X509SvidMessage> = {},
): { message: X509SvidMessage; leaf: X509Certificate } {
  return { message: x509SvidMessage(svid, [env.ca.certificate], overrides), leaf: svid.leaf };
}

const HX: readonly HxCase[] = [
  {
    id: 'HX-1',
    what: 'with an invalid signature',
    bad(env, id) {
      const svid = env.ca.svid(id.slice(TD_ID.length));
      // The DER ends inside the signature value: flip its last bit.
      const der = Buffer.from(svid.leaf.raw);
      der[der.length - 1] = (der[der.length - 1] as number) ^ 0x01;
      return { message: x509SvidMessage(svid, [env.ca.certificate], { x509_svid: der }), leaf: new X509Certificate(der) };
    },
  },
  {
    id: 'HX-2',
    what: 'that does not chain to the bundle in the same response',
    bad(env, id) {
      const foreign = TestCa.create({ trustDomain: TRUST_DOMAIN });
      // The suite's probe may verify the foreign chain, so that presenting it is reported as
      // such; the SDK only gets the suite CA's bundle.
      env.trustRoot(foreign);
      return plain(env, foreign.svid(id.slice(TD_ID.length)));
    },
  },
  {
    id: 'HX-3',
    what: 'that is expired',
    bad: (env, id) =>
      plain(
        env,
        env.ca.svid(id.slice(TD_ID.length), { notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() - HOUR) }),
      ),
  },
  { id: 'HX-4', what: 'whose leaf has cA=true', bad: (env, id) => plain(env, env.ca.svid(id.slice(TD_ID.length), { isCa: true })) },
  {
    id: 'HX-5',
    what: 'whose leaf has keyCertSign',
    bad: (env, id) => plain(env, env.ca.svid(id.slice(TD_ID.length), { keyUsage: ['digitalSignature', 'keyCertSign'] })),
  },
  {
    id: 'HX-6',
    what: 'with more than one URI SAN',
    bad: (env, id) => plain(env, env.ca.svid(id.slice(TD_ID.length), { uris: [id, `${TD_ID}/hx-6-second`] }), { spiffe_id: id }),
  },
  {
    id: 'HX-7',
    what: 'with a non-spiffe:// URI SAN',
    // spiffe_id names a valid ID: the certificate, not the field, is what is wrong.
    bad: (env, id) => plain(env, env.ca.svid(id.slice(TD_ID.length), { uris: [`https://${TRUST_DOMAIN}/hx-7`] }), { spiffe_id: id }),
  },
  {
    id: 'HX-8',
    what: 'whose private key does not match the certificate',
    bad(env, id) {
      const other = env.ca.svid(`${id.slice(TD_ID.length)}-other-key`);
      return plain(env, env.ca.svid(id.slice(TD_ID.length)), { x509_svid_key: other.keyDer });
    },
  },
  {
    id: 'HX-9',
    what: "whose spiffe_id field differs from the certificate's URI SAN",
    bad: (env, id) => plain(env, env.ca.svid(id.slice(TD_ID.length)), { spiffe_id: `${id}-claimed` }),
  },
];

const cases: ConformanceCase[] = HX.map((c): ConformanceCase => ({
  id: c.id,
  level: 'OPT',
  title: `Ignores a Workload API X.509-SVID ${c.what}`,
  async run(env) {
    const { message, leaf } = c.bad(env, `${TD_ID}/${c.id.toLowerCase()}-bad`);
    await ignoresBadUpdate(env, '/hx', `an X.509-SVID ${c.what}`, { svids: [message], federated_bundles: {} }, leaf);
  },
}));

conformanceGroup('HX', cases, { concurrency: 5 });
