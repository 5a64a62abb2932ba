/**
 * Catalogue §5.1, `XS`: the X509-SVID the SDK presents (feature `x509-server`).
 */
import { TestCa } from '@spiffe-node/test-kit';
import { conformanceGroup, type ConformanceCase } from './lib/cases.js';
import { TD_ID, TRUST_DOMAIN } from './lib/env.js';
import { SERVER_ROLE, expectAccepted, expectRejected } from './lib/roles.js';

const cases: ConformanceCase[] = [
  {
    id: 'XS-1',
    level: 'MUST',
    title: 'Presents the X.509-SVID received from FetchX509SVID',
    async run(env) {
      const svid = env.ca.svid('/xs-1');
      env.serveX509({ svids: [svid] });
      const res = await env.waitForSvid(svid.id);
      if (res.chain[0]?.raw.equals(svid.leaf.raw) !== true) throw new Error('the presented leaf is not the issued certificate');
    },
  },
  {
    id: 'XS-2',
    level: 'MUST',
    title: 'Presents the full chain, leaf first, including intermediates',
    async run(env) {
      // The probe trusts only the root: it verifies only if the harness sends the intermediate.
      const intermediate = env.ca.intermediate();
      const svid = intermediate.svid('/xs-2');
      if (svid.certificates.length !== 2) throw new Error('fixture: expected leaf + intermediate');
      env.serveX509({ svids: [svid] });
      const res = await env.waitForSvid(svid.id);
      if (res.chain.length < 2)
        throw new Error(`the harness presented ${res.chain.length} certificate(s); want the leaf, then the intermediate`);
      if (!res.chain[0]?.raw.equals(svid.leaf.raw)) throw new Error('the first presented certificate is not the issued leaf');
      if (!res.chain[1]?.raw.equals(intermediate.certificate.raw)) throw new Error('the second certificate is not the intermediate CA');
    },
  },
  {
    id: 'XS-3',
    level: 'MUST',
    title: 'Uses a rotated SVID for new connections',
    async run(env) {
      for (const path of ['/xs-3-a', '/xs-3-b']) {
        const svid = env.ca.svid(path);
        env.serveX509({ svids: [svid] });
        await env.waitForSvid(svid.id);
      }
    },
  },
  {
    id: 'XS-4',
    level: 'MUST',
    title: 'Accepts a trust bundle with several concatenated CA certificates and trusts each',
    async run(env) {
      const ca2 = TestCa.create({ trustDomain: TRUST_DOMAIN });
      await env.pushX509AndWait({ bundle: [env.ca.certificate, ca2.certificate] });
      await expectAccepted(SERVER_ROLE, env, env.ca.svid('/xs-4-ca1'), 'a peer from the first CA of the bundle');
      await expectAccepted(SERVER_ROLE, env, ca2.svid('/xs-4-ca2'), 'a peer from the second CA of the bundle');
    },
  },
  {
    id: 'XS-5',
    level: 'MUST',
    title: 'Stops trusting a CA once it is removed from the bundle',
    async run(env) {
      const ca2 = TestCa.create({ trustDomain: TRUST_DOMAIN });
      const peer1 = env.ca.svid('/xs-5-ca1');
      const peer2 = ca2.svid('/xs-5-ca2');
      await env.pushX509AndWait({ bundle: [env.ca.certificate, ca2.certificate] });
      await expectAccepted(SERVER_ROLE, env, peer2, 'a peer from CA2 while CA2 is in the bundle').catch((err: Error) => {
        throw new Error(`positive control failed: ${err.message}`);
      });
      // Barrier: the same trust domain's bundle, now CA1 only (CA1 issued the probe SVID).
      await env.pushX509AndWait({ bundle: [env.ca.certificate] });
      await expectAccepted(SERVER_ROLE, env, peer1, 'a peer from CA1 after the bundle became CA1 only').catch((err: Error) => {
        throw new Error(`positive control failed: ${err.message}`);
      });
      await expectRejected(SERVER_ROLE, env, peer2, `a peer from CA2 after CA2 left the bundle of ${TD_ID}`);
    },
  },
];

conformanceGroup('XS', cases);
