/**
 * THE TABLE of the adversary suite: every attack, the helper it targets, the hostile peer that
 * drives it, the expected outcome and where the defending side reports it. The tests are
 * generated from {@link attackTable} (their names read as the table) and the README's table is
 * printed from it (`pnpm --filter @spiffe-node/test-adversary table`; a test checks they match).
 */
import type { ForgedChain } from './fixtures.js';

export type Side = 'server' | 'client' | 'app-server' | 'app-client' | 'helper';

/** An attack on a defending server (the hostile peer is a client). */
export interface ServerAttack {
  readonly id: string;
  readonly what: string;
  /** The chain the hostile client presents at the first handshake (none: no certificate). */
  readonly present: 'client' | `${ForgedChain}-client` | undefined;
  readonly renegotiateTo?: 'swap-admin';
  /** After the first connection: change the defending side, then resume the saved session. */
  readonly resumeAfter?: 'refuseAll' | 'rotateBundles';
  /** The defending side's log line must match this. */
  readonly reason: RegExp;
}

/** An attack on a defending client (the hostile peer is a server). */
export interface ClientAttack {
  readonly id: string;
  readonly what: string;
  readonly present: 'server' | `${ForgedChain}-server`;
  /** Renegotiate (TLS 1.2, server-initiated) presenting this chain after the first handshake. */
  readonly renegotiateTo?: 'other-server';
  readonly resumeAfter?: 'refuseAll' | 'rotateBundles';
  /** The client helper's error must match this. */
  readonly reason: RegExp;
}

const UNTRUSTED = /no trusted authority|untrusted|unknown authority|unable to get|self.signed|could not verify/i;
const EXPIRED = /expired/i;
const FEDERATED = /no trusted authority|trust domain|could not verify|untrusted/i;
const NAME_CONSTRAINTS = /name constraint|not permitted|permitted subtree|violat/i;
const WEAK_SIGNATURE = /SHA-?1|weak|insecure|signature algorithm|not allowed/i;
const UNAUTHORIZED = /unexpected ID|not authorized|authoriz/i;

/** The forged chains, played against servers (claiming the client's ID) and clients (the server's). */
const forgedChains: Array<{ id: string; chain: ForgedChain; what: string; reason: RegExp }> = [
  {
    id: 'certificate-swap',
    chain: 'swap',
    what: 'a self-signed certificate with the authorized ID in place of the issued SVID',
    reason: UNTRUSTED,
  },
  { id: 'untrusted-intermediate', chain: 'untrusted', what: 'a chain through an intermediate of an untrusted root', reason: UNTRUSTED },
  { id: 'expired-intermediate', chain: 'expired', what: 'a chain through an expired intermediate of the trusted root', reason: EXPIRED },
  { id: 'federated-root', chain: 'federated', what: 'a leaf of example.org signed by the federated partner.org root', reason: FEDERATED },
  {
    id: 'name-constraints',
    chain: 'nameconstraints',
    what: 'a leaf outside the (non-critical) name constraints of its intermediate',
    reason: NAME_CONSTRAINTS,
  },
  { id: 'weak-signature', chain: 'sha1', what: 'a leaf signed with ecdsa-with-SHA1 by the trusted intermediate', reason: WEAK_SIGNATURE },
];

export const serverAttacks: ServerAttack[] = [
  {
    id: 'no-client-certificate',
    what: 'a client that sends no certificate where one is required',
    present: undefined,
    reason: /no (client )?certificate/i,
  },
  ...forgedChains.map((f): ServerAttack => ({ id: f.id, what: f.what, present: `${f.chain}-client`, reason: f.reason })),
  {
    id: 'renegotiation',
    what: 'TLS 1.2 renegotiation presenting a self-signed spiffe://example.org/admin after admission',
    present: 'client',
    renegotiateTo: 'swap-admin',
    reason: /renegotiat/i,
  },
  {
    id: 'resumption-after-authorizer-change',
    what: 'resuming a session saved before the authorizer started refusing the client',
    present: 'client',
    resumeAfter: 'refuseAll',
    reason: UNAUTHORIZED,
  },
  {
    id: 'resumption-after-bundle-change',
    what: "resuming a session saved before example.org's CA left the bundle",
    present: 'client',
    resumeAfter: 'rotateBundles',
    reason: UNTRUSTED,
  },
];

export const clientAttacks: ClientAttack[] = [
  ...forgedChains.map((f): ClientAttack => ({ id: f.id, what: f.what, present: `${f.chain}-server`, reason: f.reason })),
  {
    id: 'renegotiation',
    what: 'the server renegotiating (TLS 1.2) to present a valid SVID of an ID the client does not authorize',
    present: 'server',
    renegotiateTo: 'other-server',
    reason: /renegotiat|unexpected ID/i,
  },
  {
    id: 'resumption-after-authorizer-change',
    what: 'the client resuming a session saved before its authorizer started refusing the server',
    present: 'server',
    resumeAfter: 'refuseAll',
    reason: UNAUTHORIZED,
  },
  {
    id: 'resumption-after-bundle-change',
    what: "the client resuming a session saved before example.org's CA left its bundle",
    present: 'server',
    resumeAfter: 'rotateBundles',
    reason: UNTRUSTED,
  },
];

/** An attack on the CLI's helper daemon. */
export interface HelperAttack {
  readonly id: string;
  readonly what: string;
  readonly peer: string;
  /** The helper's output must match this (when it refuses by exiting). */
  readonly reason?: RegExp;
}

export const helperAttacks: HelperAttack[] = [
  {
    id: 'planted-key-symlink',
    what: 'cert_dir/svid_key.pem planted as a symlink to a victim file before the helper runs',
    peer: 'a symlink planted in cert_dir',
  },
  {
    id: 'planted-data-symlink',
    what: "cert_dir/..data planted as a symlink to the attacker's world-writable folder",
    peer: 'a symlink planted in cert_dir',
  },
  { id: 'hostile-umask', what: 'the helper started with umask 000', peer: 'a hostile umask (000)' },
  {
    id: 'mismatched-key',
    what: 'an agent serving an X509-SVID with a private key of another certificate',
    peer: 'a hostile Workload API (gRPC on a Unix socket)',
    reason: /private key does not match/i,
  },
];

/** One row of the table. */
export interface AttackRow {
  readonly attack: string;
  readonly target: string;
  readonly side: Side;
  readonly peer: string;
  readonly outcome: 'refused';
  readonly reportedBy: string;
}

/** The name of a generated test: the table row as a sentence. */
export function testName(row: Pick<AttackRow, 'attack' | 'peer' | 'outcome' | 'reportedBy'>): string {
  return `${row.attack} by ${row.peer}: ${row.outcome} (${row.reportedBy})`;
}
