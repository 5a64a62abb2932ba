/**
 * Catalogue §5.2, `XV`: peer X509-SVID validation, each case in both roles (`/server`: the
 * harness's X.509 port; `/client`: `/v1/x509/dial`).
 */
import { TestCa, type TestSvid } from '@spiffe-node/test-kit';
import { conformanceGroup, type ConformanceCase } from './lib/cases.js';
import { TD_ID, TRUST_DOMAIN, type ConformanceEnv } from './lib/env.js';
import { ROLES, expectAccepted, expectRejected, positiveControl } from './lib/roles.js';

const HOUR = 3600_000;

interface XvCase {
  id: string;
  title: string;
  accept: boolean;
  what: string;
  peer(env: ConformanceEnv): TestSvid;
}

const XV: readonly XvCase[] = [
  {
    id: 'XV-1',
    title: 'Accepts a valid peer SVID (positive control)',
    accept: true,
    what: 'a plain leaf of the trust domain CA',
    peer: (env) => env.ca.svid('/xv-1'),
  },
  {
    id: 'XV-2',
    title: 'Accepts a peer SVID chained through an intermediate',
    accept: true,
    what: 'a leaf of an intermediate CA (leaf + intermediate presented)',
    peer: (env) => env.ca.intermediate().svid('/xv-2'),
  },
  {
    id: 'XV-3',
    title: 'Accepts a peer SVID that also carries DNS SANs',
    accept: true,
    what: 'a leaf with an additional DNS SAN',
    peer: (env) => env.ca.svid('/xv-3', { dnsNames: [`xv-3.${TRUST_DOMAIN}`] }),
  },
  {
    id: 'XV-4',
    title: 'Accepts a peer SVID with an empty Subject and a critical URI SAN',
    accept: true,
    what: 'a leaf with an empty Subject (its SAN extension then critical)',
    peer: (env) => env.ca.svid('/xv-4', { subject: {} }),
  },
  {
    id: 'XV-5',
    title: 'Rejects a peer chaining to an untrusted CA',
    accept: false,
    what: 'a leaf of another CA for the same trust domain name',
    peer: () => TestCa.create({ trustDomain: TRUST_DOMAIN }).svid('/xv-5'),
  },
  {
    id: 'XV-6',
    title: 'Rejects an expired peer certificate',
    accept: false,
    what: 'a leaf that expired an hour ago',
    peer: (env) => env.ca.svid('/xv-6', { notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() - HOUR) }),
  },
  {
    id: 'XV-7',
    title: 'Rejects a not-yet-valid peer certificate',
    accept: false,
    what: 'a leaf that becomes valid in an hour',
    peer: (env) => env.ca.svid('/xv-7', { notBefore: new Date(Date.now() + HOUR), notAfter: new Date(Date.now() + 2 * HOUR) }),
  },
  {
    id: 'XV-8',
    title: 'Rejects a peer leaf with cA=true',
    accept: false,
    what: 'a leaf with basic constraints cA=true',
    peer: (env) => env.ca.svid('/xv-8', { isCa: true }),
  },
  {
    id: 'XV-9',
    title: 'Rejects a peer leaf with keyCertSign',
    accept: false,
    what: 'a leaf with key usage keyCertSign',
    peer: (env) => env.ca.svid('/xv-9', { keyUsage: ['digitalSignature', 'keyCertSign'] }),
  },
  {
    id: 'XV-10',
    title: 'Rejects a peer leaf with cRLSign',
    accept: false,
    what: 'a leaf with key usage cRLSign',
    peer: (env) => env.ca.svid('/xv-10', { keyUsage: ['digitalSignature', 'cRLSign'] }),
  },
  {
    id: 'XV-11',
    title: 'Rejects a peer with more than one URI SAN',
    accept: false,
    what: 'a leaf with two spiffe:// URI SANs',
    peer: (env) => env.ca.svid('/xv-11', { uris: [`${TD_ID}/xv-11`, `${TD_ID}/xv-11-second`] }),
  },
  {
    id: 'XV-12',
    title: 'Rejects a peer without a URI SAN',
    accept: false,
    what: 'a leaf without any URI SAN',
    peer: (env) => env.ca.svid('/xv-12', { uris: [] }),
  },
  {
    id: 'XV-13',
    title: 'Rejects a peer URI SAN that is not spiffe://',
    accept: false,
    what: `a leaf whose only URI SAN is https://${TRUST_DOMAIN}/xv-13`,
    peer: (env) => env.ca.svid('/xv-13', { uris: [`https://${TRUST_DOMAIN}/xv-13`] }),
  },
  {
    id: 'XV-14',
    title: 'Rejects a peer SPIFFE ID without a path (spiffe://td)',
    accept: false,
    what: `a leaf whose URI SAN is the bare trust domain ${TD_ID}`,
    peer: (env) => env.ca.svid(''),
  },
  {
    id: 'XV-15',
    title: "Rejects a peer whose trust domain has no bundle, even if its chain verifies against another trust domain's CA",
    accept: false,
    what: `a leaf spiffe://other.example.org/xv-15 signed by the CA of ${TD_ID}`,
    peer: (env) => env.ca.svid('spiffe://other.example.org/xv-15'),
  },
];

const cases: ConformanceCase[] = XV.flatMap((c) =>
  ROLES.map((role): ConformanceCase => ({
    id: `${c.id}/${role.name}`,
    level: 'MUST',
    title: c.title,
    async run(env) {
      const peer = c.peer(env);
      if (c.accept) {
        await expectAccepted(role, env, peer, c.what);
        return;
      }
      await positiveControl(role, env);
      await expectRejected(role, env, peer, c.what);
    },
  })),
);

conformanceGroup('XV', cases, { concurrency: 4 });
