/**
 * Catalogue §5.3, `XF`: X.509 federation, each case in both roles.
 */
import { TestCa } from '@spiffe-node/test-kit';
import { conformanceGroup, type ConformanceCase } from './lib/cases.js';
import { TD_ID, type ConformanceEnv } from './lib/env.js';
import { ROLES, expectAccepted, expectRejected, positiveControl, type Role } from './lib/roles.js';

const FEDERATED_TD = 'fed.example.org';
const FEDERATED_TD_ID = `spiffe://${FEDERATED_TD}`;

/** Serves the federated trust domain's bundle in `federated_bundles` and waits until applied. */
async function federate(env: ConformanceEnv): Promise<TestCa> {
  const fed = TestCa.create({ trustDomain: FEDERATED_TD });
  await env.pushX509AndWait({ federated: { [FEDERATED_TD_ID]: [fed.certificate] } });
  return fed;
}

const XF: readonly { id: string; title: string; run(env: ConformanceEnv, role: Role): Promise<void> }[] = [
  {
    id: 'XF-1',
    title: 'Accepts a peer from a federated trust domain using federated_bundles',
    async run(env, role) {
      const fed = await federate(env);
      await expectAccepted(role, env, fed.svid('/xf-1'), `a peer of the federated trust domain ${FEDERATED_TD_ID}`);
    },
  },
  {
    id: 'XF-2',
    title: "Rejects a peer claiming trust domain B whose chain only verifies against trust domain A's bundle (no bundle merging)",
    async run(env, role) {
      const fed = await federate(env);
      await positiveControl(role, env);
      await expectAccepted(role, env, fed.svid('/xf-2-control'), `a peer of ${FEDERATED_TD_ID} signed by its own CA`).catch(
        (err: Error) => {
          throw new Error(`positive control failed: ${err.message}`);
        },
      );
      await expectRejected(
        role,
        env,
        env.ca.svid(`${FEDERATED_TD_ID}/xf-2`),
        `a peer ${FEDERATED_TD_ID}/xf-2 whose chain verifies only against the bundle of ${TD_ID}`,
      );
      await expectRejected(
        role,
        env,
        fed.svid(`${TD_ID}/xf-2`),
        `a peer ${TD_ID}/xf-2 whose chain verifies only against the bundle of ${FEDERATED_TD_ID}`,
      );
    },
  },
  {
    id: 'XF-3',
    title: 'Stops trusting a federated trust domain when a later response omits it',
    async run(env, role) {
      const fed = await federate(env);
      const fedPeer = fed.svid('/xf-3');
      await expectAccepted(role, env, fedPeer, `a peer of ${FEDERATED_TD_ID} while its bundle is served`).catch((err: Error) => {
        throw new Error(`positive control failed: ${err.message}`);
      });
      // Barrier: a response without federated_bundles.
      await env.pushX509AndWait({});
      await positiveControl(role, env);
      await expectRejected(role, env, fedPeer, `a peer of ${FEDERATED_TD_ID} after a response omitted its bundle`);
    },
  },
];

const cases: ConformanceCase[] = XF.flatMap((c) =>
  ROLES.map((role): ConformanceCase => ({
    id: `${c.id}/${role.name}`,
    level: 'MUST',
    title: c.title,
    run: (env) => c.run(env, role),
  })),
);

conformanceGroup('XF', cases, { concurrency: 3 });
