/**
 * Forced rotation of example.org's signing authorities, X.509 CA and JWT key, with SPIRE's
 * `localauthority x509|jwt prepare / activate / taint / revoke`, on both example.org servers
 * (in HA each server has authorities of its own, all in the one shared bundle), while the apps
 * are under load within example.org and across the federation with partner.org. Each step is
 * checked where it must show: example.org's own bundle, partner.org's copy of it (b-host's
 * `bundle list`, which partner.org's server refetches from example.org's bundle endpoint on its
 * own, within the refresh hint), the workloads' SVIDs and bundles, and the agents' own SVIDs.
 *
 * Why this order rides out with 0 failed requests: a new authority is in every bundle (example.org's
 * agents, and partner.org's through its refetch) before anything is signed by it; tainting the old
 * one makes every agent re-sign, at once, the SVIDs it signed (and its own); it is revoked, so
 * removed from the bundles, only once no SVID of it is left. What cannot ride out, by design:
 * an agent that is away through the taint and the revoke keeps an SVID of the revoked CA, and
 * can no longer reach its servers (join-token agents cannot attest again); a JWT-SVID signed
 * with the old key before the taint and held by a workload past the revoke is refused wherever
 * it is presented, as it should be (SPIRE cannot recall a token it handed out; the agents drop
 * their cached ones at the taint, so a workload that fetches a token per request never holds
 * one). The JWT phase shows that refusal on partner.org.
 */
import { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLIENT_USER, SERVER_USER, type Workload } from '@spiffe-node/harness';
import { authorityKeyId, subjectKeyId } from './key-ids.js';
import type { MultihostContext } from './scenarios.js';
import type { HostName } from './topology.js';

/** The refresh hint of example.org's bundle endpoint (REFRESH_HINT in topology.sh). */
export const REFRESH_HINT_SECONDS = 60;

const A_SERVERS = ['a-server', 'a-server2'] as const;
type AServer = (typeof A_SERVERS)[number];
const A_TRUST_DOMAIN = 'spiffe://example.org';
/** The workloads of example.org whose SVIDs must move to the new CA. */
const A_WORKLOADS: Array<{ host: HostName; user: string }> = [
  { host: 'a-host1', user: SERVER_USER },
  { host: 'a-host2', user: CLIENT_USER },
  { host: 'a-host2', user: SERVER_USER },
];
const A_AGENTS: HostName[] = ['a-host1', 'a-host2'];
/** The audience of the JWT-SVIDs of the JWT phase. */
const JWT_AUDIENCE = 'spiffe://partner.org/rotation-check';

/** What a rotation phase gets from the fault runner: its checks and the loads. */
export interface RotationPhase {
  check(what: string, ok: boolean): void;
  readonly loads: ReadonlyArray<{ name: string; workload: Workload }>;
}

type Kind = 'x509' | 'jwt';

interface AuthorityState {
  active?: { authority_id: string };
  prepared?: { authority_id: string };
  old?: { authority_id: string };
}

async function authorities(ctx: MultihostContext, server: AServer, kind: Kind): Promise<AuthorityState> {
  return JSON.parse(await ctx.topology.serverCli(server, ['localauthority', kind, 'show'], ['-output', 'json'])) as AuthorityState;
}

/** `localauthority <kind> <verb> [-authorityID id]` on `server`; resolves with the authority ID it names. */
async function step(
  ctx: MultihostContext,
  server: AServer,
  kind: Kind,
  verb: 'prepare' | 'activate' | 'taint' | 'revoke',
  id?: string,
): Promise<string> {
  const args = ['-output', 'json', ...(id ? ['-authorityID', id] : [])];
  const out = JSON.parse(await ctx.topology.serverCli(server, ['localauthority', kind, verb], args)) as Record<
    string,
    { authority_id?: string } | undefined
  >;
  const named = Object.values(out).find((v) => v?.authority_id)?.authority_id;
  if (!named) throw new Error(`localauthority ${kind} ${verb} on ${server} named no authority: ${JSON.stringify(out)}`);
  return named;
}

/** The X.509 authorities (subject key IDs) and JWT keys (kids) of a SPIFFE bundle document. */
function bundleIds(document: string): { x509: Set<string>; jwt: Set<string> } {
  const doc = JSON.parse(document) as { keys?: Array<{ use?: string; kid?: string; x5c?: string[] }> };
  const x509 = new Set<string>();
  const jwt = new Set<string>();
  for (const key of doc.keys ?? []) {
    if (key.use === 'x509-svid' && key.x5c?.[0]) {
      const ski = subjectKeyId(new X509Certificate(Buffer.from(key.x5c[0], 'base64')));
      if (ski) x509.add(ski);
    } else if (key.use === 'jwt-svid' && key.kid) jwt.add(key.kid);
  }
  return { x509, jwt };
}

/** example.org's bundle as its own servers hold it. */
async function bundleOfA(ctx: MultihostContext): Promise<{ x509: Set<string>; jwt: Set<string> }> {
  return bundleIds(await ctx.topology.serverCli('a-server', ['bundle', 'show'], ['-format', 'spiffe']));
}

/** example.org's bundle as partner.org's server holds it (refetched from the bundle endpoint). */
async function bundleOfAOnB(ctx: MultihostContext): Promise<{ x509: Set<string>; jwt: Set<string> }> {
  return bundleIds(await ctx.topology.serverCli('b-host', ['bundle', 'list'], ['-id', A_TRUST_DOMAIN, '-format', 'spiffe']));
}

/** Polls `test` every 500 ms until it holds or `timeoutMs` passed; resolves with the time it took, or undefined. */
async function timeUntil(test: () => Promise<boolean>, timeoutMs: number): Promise<number | undefined> {
  const started = Date.now();
  for (;;) {
    if (await test().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) return undefined;
    await sleep(500);
  }
}

const hasAll = (set: Set<string>, ids: string[]): boolean => ids.every((id) => set.has(id));
const hasNone = (set: Set<string>, ids: string[]): boolean => ids.every((id) => !set.has(id));
const seconds = (ms: number | undefined): string => (ms === undefined ? 'not within the wait' : `${(ms / 1000).toFixed(1)} s`);

/**
 * Waits for partner.org's copy of example.org's bundle to pass `test`, and checks it did so
 * within the refresh hint (partner.org's server refetches at a quarter of it).
 */
async function partnerPicksUp(
  ctx: MultihostContext,
  p: RotationPhase,
  what: string,
  test: (b: { x509: Set<string>; jwt: Set<string> }) => boolean,
): Promise<void> {
  const took = await timeUntil(async () => test(await bundleOfAOnB(ctx)), (REFRESH_HINT_SECONDS + 30) * 1000);
  p.check(
    `partner.org (b-host, bundle list -id ${A_TRUST_DOMAIN}) ${what} after ${seconds(took)}, within the ${REFRESH_HINT_SECONDS} s refresh hint`,
    took !== undefined && took <= REFRESH_HINT_SECONDS * 1000,
  );
}

/** The authority key IDs of the SVIDs the example.org workloads and agents hold now. */
async function svidAuthorities(ctx: MultihostContext): Promise<Array<{ who: string; authority: string | undefined }>> {
  const out: Array<{ who: string; authority: string | undefined }> = [];
  for (const w of A_WORKLOADS) {
    const context = await ctx.topology.x509Context(w.host, w.user);
    for (const s of context.svids) out.push({ who: `${s.id} on ${w.host}`, authority: s.chain[0] && authorityKeyId(s.chain[0]) });
  }
  for (const host of A_AGENTS) {
    const leaf = ctx.topology.agentSvid(host)[0];
    out.push({ who: `the agent of ${host}`, authority: leaf && authorityKeyId(leaf) });
  }
  return out;
}

/** The example.org CAs (subject key IDs) that client-workload on b-host holds in its federated bundle. */
async function aCasOnBWorkload(ctx: MultihostContext): Promise<Set<string>> {
  const context = await ctx.topology.x509Context('b-host', CLIENT_USER);
  return new Set((context.federated[A_TRUST_DOMAIN] ?? []).map((c) => subjectKeyId(c) ?? '?'));
}

/** The X.509 phase: prepare, wait for every bundle, activate, taint, wait for every SVID, revoke. */
export async function rotateX509Authorities(ctx: MultihostContext, p: RotationPhase): Promise<void> {
  const before = await Promise.all(A_SERVERS.map((s) => authorities(ctx, s, 'x509')));
  const old = before.map((b, i) => {
    if (!b.active?.authority_id || b.prepared)
      throw new Error(`${A_SERVERS[i]}: expected one active X.509 authority and none prepared: ${JSON.stringify(b)}`);
    return b.active.authority_id;
  });
  const prepared: string[] = [];
  for (const s of A_SERVERS) prepared.push(await step(ctx, s, 'x509', 'prepare'));
  p.check(
    `prepare: a new X.509 authority on each example.org server (${prepared.join(', ')}), in example.org's bundle`,
    hasAll((await bundleOfA(ctx)).x509, prepared),
  );
  await partnerPicksUp(ctx, p, 'holds both prepared CAs', (b) => hasAll(b.x509, prepared));
  // partner.org's agent hands them to its workloads at its next sync.
  const onB = await timeUntil(async () => hasAll(await aCasOnBWorkload(ctx), prepared), 30_000);
  p.check(`partner.org's client workload (b-host) holds them in its federated bundle after ${seconds(onB)} more`, onB !== undefined);
  // example.org's own agents too, before anything is signed by them.
  const onA = await timeUntil(async () => {
    for (const w of A_WORKLOADS) {
      const context = await ctx.topology.x509Context(w.host, w.user);
      const bundle = new Set((context.svids[0]?.bundle ?? []).map((c) => subjectKeyId(c)));
      if (!prepared.every((id) => bundle.has(id))) return false;
    }
    return true;
  }, 30_000);
  p.check(`every example.org workload holds them in its bundle (${seconds(onA)})`, onA !== undefined);

  for (const [i, s] of A_SERVERS.entries()) await step(ctx, s, 'x509', 'activate', prepared[i]);
  const activated = await Promise.all(A_SERVERS.map((s) => authorities(ctx, s, 'x509')));
  p.check(
    `activate: the new authorities are active, the former ones old (${activated.map((a) => `${a.active?.authority_id} / old ${a.old?.authority_id}`).join('; ')})`,
    activated.every((a, i) => a.active?.authority_id === prepared[i] && a.old?.authority_id === old[i]),
  );

  const loadA = p.loads[0]!.workload;
  const loadMark = loadA.lines.length;
  for (const [i, s] of A_SERVERS.entries()) await step(ctx, s, 'x509', 'taint', old[i]);
  // Tainting makes each agent re-sign what the old CA signed: the workloads' SVIDs and its own.
  let last: Array<{ who: string; authority: string | undefined }> = [];
  const resigned = await timeUntil(async () => {
    last = await svidAuthorities(ctx);
    return last.every((x) => x.authority !== undefined && !old.includes(x.authority));
  }, 60_000);
  p.check(
    `taint: every SVID of example.org re-signed by a new authority after ${seconds(resigned)} (${last.map((x) => `${x.who}: ${x.authority ?? 'none'}`).join('; ')})`,
    resigned !== undefined && last.every((x) => x.authority !== undefined && prepared.includes(x.authority)),
  );
  const taken = loadA.lines
    .slice(loadMark)
    .map((l) => /^svid \S+ serial \S+ expires \S+ authority (\S+)$/.exec(l.line)?.[1])
    .filter((a) => a !== undefined);
  p.check(
    `load A's own X509Source took in an SVID of a new authority (${taken.join(', ') || 'none'})`,
    taken.some((a) => prepared.includes(a)),
  );

  for (const [i, s] of A_SERVERS.entries()) await step(ctx, s, 'x509', 'revoke', old[i]);
  const afterRevoke = await bundleOfA(ctx);
  p.check(
    `revoke: example.org's bundle holds the new CAs only (${[...afterRevoke.x509].join(', ')})`,
    hasNone(afterRevoke.x509, old) && hasAll(afterRevoke.x509, prepared),
  );
  await partnerPicksUp(ctx, p, 'dropped both revoked CAs', (b) => hasNone(b.x509, old) && hasAll(b.x509, prepared));
  const dropped = await timeUntil(async () => hasNone(await aCasOnBWorkload(ctx), old), 30_000);
  p.check(`partner.org's client workload no longer trusts them after ${seconds(dropped)} more`, dropped !== undefined);
  // Requests within example.org and across the federation, on the new CAs alone.
  const requestsNow = (l: { workload: Workload }): number => {
    for (let i = l.workload.lines.length - 1; i >= 0; i--) {
      const m = /^progress requests=(\d+) failed=\d+$/.exec(l.workload.lines[i]!.line);
      if (m) return Number(m[1]);
    }
    return 0;
  };
  const marks = p.loads.map(requestsNow);
  await sleep(3_000);
  p.loads.forEach((l, i) => {
    const made = requestsNow(l) - marks[i]!;
    p.check(`${l.name}: requests go on after the revoke, on the new CAs alone (${made} in 3 s)`, made > 0);
  });
}

/** A JWT-SVID for `user` on `host`, and the kid of its header. */
async function fetchJwt(ctx: MultihostContext, host: HostName, user: string): Promise<{ token: string; kid: string }> {
  const out = await ctx.topology.agentApi(host, user, ['fetch', 'jwt', '-audience', JWT_AUDIENCE, '-timeout', '10s']);
  const token = /^token\([^)]*\):\n\t(\S+)$/m.exec(out)?.[1];
  if (!token) throw new Error(`spire-agent api fetch jwt on ${host} printed no token`);
  const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid?: string };
  return { token, kid: header.kid ?? '' };
}

/** Whether partner.org (client-workload on b-host, through its agent) accepts an example.org JWT-SVID. */
async function partnerAccepts(ctx: MultihostContext, token: string): Promise<boolean> {
  return ctx.topology.agentApi('b-host', CLIENT_USER, ['validate', 'jwt', '-audience', JWT_AUDIENCE, '-svid', token]).then(
    (out) => out.includes('SVID is valid.'),
    () => false,
  );
}

/** The JWT phase: the same steps for the JWT keys, a token checked across the federation at each. */
export async function rotateJwtAuthorities(ctx: MultihostContext, p: RotationPhase): Promise<void> {
  const before = await Promise.all(A_SERVERS.map((s) => authorities(ctx, s, 'jwt')));
  const old = before.map((b, i) => {
    if (!b.active?.authority_id || b.prepared)
      throw new Error(`${A_SERVERS[i]}: expected one active JWT authority and none prepared: ${JSON.stringify(b)}`);
    return b.active.authority_id;
  });
  const early = await fetchJwt(ctx, 'a-host2', CLIENT_USER);
  p.check(
    `before: a JWT-SVID of example.org (kid ${early.kid}, an active key) is accepted on partner.org`,
    old.includes(early.kid) && (await partnerAccepts(ctx, early.token)),
  );

  const prepared: string[] = [];
  for (const s of A_SERVERS) prepared.push(await step(ctx, s, 'jwt', 'prepare'));
  p.check(
    `prepare: a new JWT key on each example.org server (${prepared.join(', ')}), in example.org's bundle`,
    hasAll((await bundleOfA(ctx)).jwt, prepared),
  );
  await partnerPicksUp(ctx, p, 'holds both prepared JWT keys', (b) => hasAll(b.jwt, prepared));

  for (const [i, s] of A_SERVERS.entries()) await step(ctx, s, 'jwt', 'activate', prepared[i]);
  for (const [i, s] of A_SERVERS.entries()) await step(ctx, s, 'jwt', 'taint', old[i]);
  // Tainting drops the agents' cached JWT-SVIDs of the old keys: the next fetch is signed anew.
  let fresh: { token: string; kid: string } | undefined;
  const took = await timeUntil(async () => {
    fresh = await fetchJwt(ctx, 'a-host2', CLIENT_USER);
    return prepared.includes(fresh.kid);
  }, 30_000);
  p.check(`activate and taint: a new JWT-SVID is signed by a new key after ${seconds(took)} (kid ${fresh?.kid})`, took !== undefined);
  p.check('partner.org accepts it', fresh !== undefined && (await partnerAccepts(ctx, fresh.token)));

  for (const [i, s] of A_SERVERS.entries()) await step(ctx, s, 'jwt', 'revoke', old[i]);
  p.check(
    `revoke: example.org's bundle holds the new JWT keys only`,
    ((b) => hasNone(b.jwt, old) && hasAll(b.jwt, prepared))(await bundleOfA(ctx)),
  );
  await partnerPicksUp(ctx, p, 'dropped both revoked JWT keys', (b) => hasNone(b.jwt, old) && hasAll(b.jwt, prepared));
  // partner.org's agent syncs its bundles from its server every few seconds.
  const refused = await timeUntil(async () => !(await partnerAccepts(ctx, early.token)), 30_000);
  p.check(
    `the JWT-SVID signed before the rotation (kid ${early.kid}) is refused on partner.org after ${seconds(refused)} more (by design: a token of a revoked key)`,
    refused !== undefined,
  );
  p.check(
    'a JWT-SVID fetched now is still accepted on partner.org',
    fresh !== undefined && (await partnerAccepts(ctx, (await fetchJwt(ctx, 'a-host2', CLIENT_USER)).token)),
  );
}
