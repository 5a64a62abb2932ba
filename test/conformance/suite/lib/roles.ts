/**
 * The two peer-validation roles (catalogue §1.4): `server`, where the suite connects to the
 * harness's X.509 port with the test certificate as its client certificate, and `client`, where
 * the suite runs a TLS server with the test certificate and has the harness dial it
 * (`/v1/x509/dial`). Acceptance is the peer-ID line (server) or `200 ok` (client).
 *
 * @module
 */
import type { TestSvid } from '@spiffe-node/test-kit';
import { TD_ID, type ConformanceEnv } from './env.js';

/**
 * A role's verdict on one peer certificate.
 *
 * @example
 * ```ts
 * const v = await role.verdict(env, peer);
 * ```
 */
export interface PeerVerdict {
  accepted: boolean;
  /** The peer ID the harness reported (the line, or the dial's `spiffe_id`). */
  reportedId: string;
  /** Client role: the client certificate the harness presented (its URI SAN). */
  presentedId: string;
  detail: string;
}

/**
 * One role.
 *
 * @example
 * ```ts
 * for (const role of ROLES) await expectAccepted(role, env, peer, 'a valid peer');
 * ```
 */
export interface Role {
  name: 'server' | 'client';
  verdict(env: ConformanceEnv, peer: TestSvid): Promise<PeerVerdict>;
}

/** The SDK as TLS server. */
export const SERVER_ROLE: Role = {
  name: 'server',
  async verdict(env, peer) {
    const v = await env.clientCertVerdict(peer);
    return { accepted: v.accepted, reportedId: v.line, presentedId: '', detail: v.detail };
  },
};

/** The SDK as TLS client. */
const CLIENT_ROLE: Role = {
  name: 'client',
  async verdict(env, peer) {
    const v = await env.dialFromSdk(peer);
    return { accepted: v.accepted, reportedId: v.serverId, presentedId: v.clientId, detail: v.message };
  },
};

/** Both roles, server first. */
export const ROLES: readonly Role[] = [SERVER_ROLE, CLIENT_ROLE];

/**
 * Fails unless the harness accepts `peer` in `role` and reports `expectedId` (default: the
 * peer's own URI SAN). In the client role the harness must also have presented a client SVID.
 *
 * @example
 * ```ts
 * await expectAccepted(SERVER_ROLE, env, ca.svid('/xv-1'), 'a plain leaf');
 * ```
 */
export async function expectAccepted(
  role: Role,
  env: ConformanceEnv,
  peer: TestSvid,
  what: string,
  expectedId: string = peer.id,
): Promise<void> {
  const v = await role.verdict(env, peer);
  if (!v.accepted) throw new Error(`the SDK (${role.name} role) rejected ${what}${v.detail ? `: ${v.detail}` : ''}`);
  if (v.reportedId !== expectedId) {
    throw new Error(
      `the SDK (${role.name} role) accepted ${what} but reported the peer as ${JSON.stringify(v.reportedId)}, want ${JSON.stringify(expectedId)}`,
    );
  }
  if (role.name === 'client' && !v.presentedId.startsWith(`${TD_ID}/`)) {
    throw new Error(
      `the SDK (client role) presented no X509-SVID of ${TD_ID} as its client certificate (saw ${JSON.stringify(v.presentedId)})`,
    );
  }
}

/**
 * Fails if the harness accepts `peer` in `role`.
 *
 * @example
 * ```ts
 * await expectRejected(CLIENT_ROLE, env, ca.svid('/xv-8', { isCa: true }), 'a CA leaf');
 * ```
 */
export async function expectRejected(role: Role, env: ConformanceEnv, peer: TestSvid, what: string): Promise<void> {
  const v = await role.verdict(env, peer);
  if (v.accepted) throw new Error(`the SDK (${role.name} role) accepted ${what} (reported as ${JSON.stringify(v.reportedId)})`);
}

/**
 * The positive control before a negative assertion (catalogue §2.1): a plain valid leaf of the
 * suite CA must be accepted in `role`, so that a harness rejecting everything fails.
 *
 * @example
 * ```ts
 * await positiveControl(role, env);
 * await expectRejected(role, env, bad, 'an expired leaf');
 * ```
 */
export async function positiveControl(role: Role, env: ConformanceEnv, id = `${TD_ID}/control`): Promise<void> {
  const peer = env.ca.svid(id.slice(TD_ID.length));
  try {
    await expectAccepted(role, env, peer, 'the valid control peer');
  } catch (err) {
    throw new Error(`positive control failed: ${(err as Error).message}`);
  }
}
