/**
 * Differential tests: the same checks, through the library's WorkloadApiClient (and a bare grpc-js
 * client where the library will not go), against the development agent and against real SPIRE
 * (v1.13.3, deploy/spire). Each check has three tests:
 *
 *   - `on the dev agent` and `on SPIRE`: what the SPIFFE specifications demand, on each agent;
 *   - `the dev agent answers as SPIRE does`: the two observations are compared, so every
 *     divergence of the dev agent from SPIRE's observable behaviour fails there. Where SPIRE
 *     legitimately differs (its CA layout, certificate subjects, error texts that come from Go
 *     libraries), the observation leaves the detail out and the test says why in a diagnostic.
 *
 * Both agents start once (in parallel) and are shared by every check. The process running the
 * tests is registered by its uid (two entries, so the order of several identities shows); an
 * unregistered caller is the `nobody` user. SPIRE is skipped when not installed, unless
 * SPIFFE_REQUIRE_SPIRE is set; both need root (callers are told apart by Unix user).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { repoRoot, runnableRootFor } from '@spiffe-node/harness';
import { poll } from '@spiffe-node/test-kit';
import {
  SpiffeId,
  TrustDomain,
  WorkloadApiClient,
  parseAndValidateJwtSvid,
  parseAndVerifyX509Svid,
  type JwtBundleSet,
  type X509BundleSet,
  type X509Context,
} from '@spiffe-node/spiffe';
import { PARTNER_TD, devSkipReason, serverCli, spireSkipReason, startAgent, type AgentKind, type DiffAgent } from './agents.js';
import { entryKey, parseEntries, type PrintedEntry } from './entries.js';
import { bundleTranscript, federationTranscript, makeFixtures, type Fixtures } from './federation-cli.js';
import { RawWorkloadClient, STREAM_METHODS, UNARY_METHODS, type Outcome } from './raw.js';
import { UNREGISTERED_USER, callAsUnregistered } from './unregistered.js';

const TD = 'example.org';
const AGENT_ID = `spiffe://${TD}/host`;
const ID_A = `spiffe://${TD}/differential/a`;
const ID_B = `spiffe://${TD}/differential/b`;
const ID_C = `spiffe://${TD}/differential/c`;
const ID_FEDERATED = `spiffe://${TD}/differential/federated`;
const AUD_1 = `spiffe://${TD}/differential-audience`;
const AUD_2 = `spiffe://${TD}/second-audience`;
const AUD_OTHER = `spiffe://${TD}/not-the-audience`;
const UID_SELECTOR = `unix:uid:${process.getuid?.() ?? 0}`;
const USER_SELECTOR = `unix:user:${spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim()}`;
const APPS = ['mtls-echo', 'https-mtls', 'jwt-proxy'];

const KINDS: AgentKind[] = ['dev', 'spire'];
const LABEL: Record<AgentKind, string> = { dev: 'the dev agent', spire: 'SPIRE' };
const SKIP: Record<AgentKind, string | undefined> = { dev: devSkipReason(), spire: spireSkipReason() };
const COMPARE_SKIP = SKIP.dev ?? SKIP.spire;

/** One agent, set up: started, the apps' entries and this process's two entries registered. */
interface Setup {
  agent: DiffAgent;
  client: WorkloadApiClient;
  /** Entry IDs of A and B: B's sorts before A's although B was created after A. */
  entryIds: { a: string; b: string };
  /** stdout + stderr of each app's register.sh, in APPS order. */
  registerOutputs: string[];
  /** What `entry create` printed for A. */
  createOutputA: string;
}

const setups = new Map<AgentKind, Setup | Error>();
let appRoot = repoRoot();
let cleanupStage = (): void => {};

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Bundle files for the federation checks (a CA certificate made by openssl), made on first use. */
let fixtures: Fixtures | undefined;
const federationFixtures = (): Fixtures => (fixtures ??= makeFixtures());
after(() => fixtures?.remove());

function cliOk(agent: DiffAgent, command: [string, string], args: string[]): string {
  const r = serverCli(agent, command, args);
  if (r.code !== 0) throw new Error(`spire-server ${command.join(' ')} ${args.join(' ')} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function createdId(output: string): string {
  const id = parseEntries(output)[0]?.entryId;
  if (!id) throw new Error(`no entry ID in:\n${output}`);
  return id;
}

function runRegisterScript(agent: DiffAgent, app: string): string {
  const r = spawnSync('bash', [`${repoRoot()}/apps/${app}/register.sh`], {
    encoding: 'utf8',
    env: { ...process.env, SPIRE_SERVER: agent.registration.command, SPIRE_SERVER_SOCKET: agent.registration.socket },
  });
  if (r.status !== 0) throw new Error(`apps/${app}/register.sh failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

/** Polls until `test` holds (a probe that throws is a miss); SPIRE's agent picks up entry changes at its next sync (about 5 s). */
const until = <T>(what: string, probe: () => Promise<T>, test: (v: T) => boolean, timeoutMs = 30_000): Promise<T> =>
  poll(what, probe, test, { timeoutMs, retryErrors: true });

async function setUp(kind: AgentKind): Promise<Setup> {
  const agent = await startAgent(kind);
  try {
    const registerOutputs = APPS.map((app) => runRegisterScript(agent, app));
    // B must sort before A by entry ID although it is created after A, so that ordering by entry
    // ID (SPIRE) and by creation give different answers. With `-entryID` the IDs are chosen; a CLI
    // without that flag gets random IDs, and B is made again until its ID sorts first. (Deleting
    // on SPIRE would leave stale SVIDs until the agent's next sync: it is only done without -entryID.)
    const argsA = [
      '-parentID',
      AGENT_ID,
      '-spiffeID',
      ID_A,
      '-selector',
      UID_SELECTOR,
      '-hint',
      'primary',
      '-dns',
      'differential-a.example.org',
      '-dns',
      'alt.example.org',
    ];
    const argsB = [
      '-parentID',
      AGENT_ID,
      '-spiffeID',
      ID_B,
      '-selector',
      USER_SELECTOR,
      '-selector',
      UID_SELECTOR,
      '-hint',
      'secondary',
      '-x509SVIDTTL',
      '600',
      '-jwtSVIDTTL',
      '120',
    ];
    let createOutputA: string;
    let a: string;
    let b: string;
    const withId = serverCli(agent, ['entry', 'create'], ['-entryID', 'differential-2-a', ...argsA]);
    if (withId.code === 0) {
      createOutputA = withId.stdout;
      a = createdId(createOutputA);
      b = createdId(cliOk(agent, ['entry', 'create'], ['-entryID', 'differential-1-b', ...argsB]));
    } else {
      createOutputA = cliOk(agent, ['entry', 'create'], argsA);
      a = createdId(createOutputA);
      for (let attempt = 0; ; attempt++) {
        b = createdId(cliOk(agent, ['entry', 'create'], argsB));
        if (b < a) break;
        if (attempt > 40) throw new Error(`could not get an entry ID below ${a}`);
        cliOk(agent, ['entry', 'delete'], ['-entryID', b]);
      }
    }
    const client = new WorkloadApiClient({ address: `unix://${agent.socketPath}`, logger: quiet });
    await until(
      `${LABEL[kind]} did not serve ${ID_A} and ${ID_B} to this process`,
      () => client.fetchX509Svids(),
      (svids) => svids.length === 2,
    );
    return { agent, client, entryIds: { a, b }, registerOutputs, createOutputA };
  } catch (err) {
    await agent.stop();
    throw err;
  }
}

before(async () => {
  if (KINDS.every((k) => SKIP[k] !== undefined)) return;
  const staged = runnableRootFor(repoRoot(), [UNREGISTERED_USER]);
  appRoot = staged.root;
  cleanupStage = staged.cleanup;
  await Promise.all(
    KINDS.filter((k) => SKIP[k] === undefined).map(async (kind) => {
      setups.set(kind, await setUp(kind).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))));
    }),
  );
});

after(async () => {
  for (const s of setups.values()) {
    if (s instanceof Error) continue;
    s.client.close();
    await s.agent.stop();
  }
  cleanupStage();
});

function setupOf(kind: AgentKind): Setup {
  const s = setups.get(kind);
  if (s === undefined) throw new Error(`${LABEL[kind]} was not started`);
  if (s instanceof Error) throw new Error(`${LABEL[kind]} could not be set up: ${s.message}`, { cause: s });
  return s;
}

/** Observations of each check, per agent, for the comparison test. */
const observed = new Map<string, Map<AgentKind, unknown>>();

interface CheckOptions {
  /** Why the comparison is skipped (beyond a missing agent). */
  compareSkip?: string;
  /** Per agent: a reason to skip this check there. */
  skip?: Partial<Record<AgentKind, string>>;
  /**
   * Why the members of an observation whose names start with `_` are not compared: legitimate
   * differences from SPIRE. The comparison prints them, with this reason, as a diagnostic.
   */
  legitimate?: string;
}

/** Splits an observation into what is compared and what is only reported (`_` members). */
function split(value: unknown, path = ''): { compared: unknown; reported: Record<string, unknown> } {
  const reported: Record<string, unknown> = {};
  if (Array.isArray(value)) {
    const compared = value.map((v, i) => {
      const r = split(v, `${path}[${i}]`);
      Object.assign(reported, r.reported);
      return r.compared;
    });
    return { compared, reported };
  }
  if (value === null || typeof value !== 'object') return { compared: value, reported };
  const compared: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const here = path ? `${path}.${k}` : k;
    if (k.startsWith('_')) {
      reported[here] = v;
      continue;
    }
    const r = split(v, here);
    Object.assign(reported, r.reported);
    compared[k] = r.compared;
  }
  return { compared, reported };
}

/** Declares a check: one test per agent, then the comparison. */
function check<T>(name: string, run: (s: Setup, kind: AgentKind) => Promise<T>, options: CheckOptions = {}): void {
  describe(name, () => {
    const results = new Map<AgentKind, unknown>();
    observed.set(name, results);
    for (const kind of KINDS) {
      it(`on ${LABEL[kind]}`, { skip: SKIP[kind] ?? options.skip?.[kind] ?? false }, async () => {
        results.set(kind, await run(setupOf(kind), kind));
      });
    }
    it('the dev agent answers as SPIRE does', { skip: COMPARE_SKIP ?? options.compareSkip ?? false }, (t: TestContext) => {
      assert.ok(results.has('dev'), 'no observation from the dev agent (its test failed)');
      assert.ok(results.has('spire'), 'no observation from SPIRE (its test failed)');
      const dev = split(results.get('dev'));
      const spire = split(results.get('spire'));
      if (options.legitimate) {
        t.diagnostic(`not compared: ${options.legitimate}`);
        t.diagnostic(`  dev agent: ${JSON.stringify(dev.reported)}`);
        t.diagnostic(`  SPIRE:     ${JSON.stringify(spire.reported)}`);
      }
      assert.deepEqual(dev.compared, spire.compared, `${name}: the dev agent (actual) differs from SPIRE (expected)`);
    });
  });
}

// ----------------------------------------------------------------------------------- helpers

function fingerprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

function x509Summary(set: X509BundleSet): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const b of set.bundles()) out[b.trustDomain.name] = b.authorities().map(fingerprint).sort();
  return out;
}

function jwtSummary(set: JwtBundleSet): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const b of set.bundles()) out[b.trustDomain.name] = [...b.jwtAuthorities().keys()].sort();
  return out;
}

function sans(cert: X509Certificate, kind: 'DNS' | 'URI'): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith(`${kind}:`))
    .map((s) => s.slice(kind.length + 1));
}

/** CLI output with every entry ID replaced (they are random). */
function withoutEntryIds(text: string): string {
  return text.replace(/^(Entry ID\s*:) .+$/gm, '$1 <entry-id>');
}

const KEY_USAGE_NAMES = [
  'digitalSignature',
  'contentCommitment',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

/**
 * The bits of a certificate's keyUsage extension (node:crypto does not expose them): the DER of
 * the extension is OID 2.5.29.15, an optional critical flag, and an OCTET STRING holding a BIT STRING.
 */
function keyUsage(cert: X509Certificate): string[] {
  const der = cert.raw;
  const oid = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]);
  let i = der.indexOf(oid);
  if (i < 0) return [];
  i += oid.length;
  if (der[i] === 0x01) i += 3;
  if (der[i] !== 0x04 || der[i + 2] !== 0x03) throw new Error('unexpected keyUsage encoding');
  i += 2;
  const bits = der.subarray(i + 3, i + 2 + der[i + 1]!);
  return KEY_USAGE_NAMES.filter((_, n) => ((bits[n >> 3] ?? 0) & (0x80 >> (n & 7))) !== 0);
}

function jwsPart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function pemCertificates(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
}

function statusOf(o: Outcome): { code: number; details: string } {
  return o.ok ? { code: 0, details: '' } : o.status;
}

/** The ordering rule a list of SPIFFE IDs follows, given this agent's entry IDs. */
function orderRule(ids: string[], s: Setup): string {
  const byEntryId = [
    [s.entryIds.a, ID_A],
    [s.entryIds.b, ID_B],
  ]
    .sort(([x], [y]) => (x! < y! ? -1 : 1))
    .map(([, id]) => id);
  if (JSON.stringify(ids) === JSON.stringify(byEntryId)) return 'by entry ID';
  if (JSON.stringify(ids) === JSON.stringify([ID_A, ID_B])) return 'by creation';
  return `other: ${ids.join(', ')}`;
}

async function firstUpdate<T>(
  watch: (signal: AbortSignal, onUpdate: (v: T) => void, onError: (e: Error) => void) => Promise<void>,
  timeoutMs = 10_000,
): Promise<T> {
  const controller = new AbortController();
  try {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no update within ${timeoutMs} ms`)), timeoutMs);
      watch(
        controller.signal,
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        () => {},
      ).catch(reject);
    });
  } finally {
    controller.abort();
  }
}

// ------------------------------------------------------------------------------------ checks

check(
  'X.509 fetch: each SVID verifies against its trust domain bundle, with its ID, hint, DNS names and TTL',
  async (s) => {
    const ctx: X509Context = await s.client.fetchX509Context();
    assert.deepEqual(ctx.svids.map((v) => v.id.toString()).sort(), [ID_A, ID_B]);
    const out: Record<string, unknown> = {};
    for (const svid of ctx.svids) {
      const { id } = parseAndVerifyX509Svid(
        svid.certificates.map((c) => c.raw),
        ctx.bundles,
      );
      assert.equal(id.toString(), svid.id.toString(), 'the verified chain names the SVID ID');
      const leaf = svid.certificates[0]!;
      assert.equal(leaf.ca, false);
      assert.deepEqual(sans(leaf, 'URI'), [svid.id.toString()], 'exactly one URI SAN, the SPIFFE ID');
      const usage = keyUsage(leaf);
      assert.ok(usage.includes('digitalSignature'), `key usage ${usage.join(',')}`);
      out[svid.id.toString()] = {
        hint: svid.hint,
        dnsNames: sans(leaf, 'DNS'),
        commonName: /^CN=(.*)$/m.exec(leaf.subject)?.[1] ?? null,
        lifetimeSeconds: (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000,
        curve: leaf.publicKey.asymmetricKeyDetails?.namedCurve,
        expiresAt: svid.expiresAt.getTime() === Date.parse(leaf.validTo),
        digitalSignature: usage.includes('digitalSignature'),
        caUsages: usage.filter((u) => u === 'keyCertSign' || u === 'cRLSign'),
        _keyUsage: usage,
        _chainLength: svid.certificates.length,
        _subject: leaf.subject.replace(/\n/g, ','),
      };
    }
    const a = out[ID_A] as { hint: string; dnsNames: string[]; lifetimeSeconds: number };
    const b = out[ID_B] as { hint: string; lifetimeSeconds: number };
    assert.equal(a.hint, 'primary');
    assert.equal(b.hint, 'secondary');
    assert.deepEqual(a.dnsNames, ['differential-a.example.org', 'alt.example.org']);
    assert.ok(a.lifetimeSeconds >= 3600 && a.lifetimeSeconds <= 3660, `default X509-SVID TTL is 1 h: ${a.lifetimeSeconds}`);
    assert.ok(b.lifetimeSeconds >= 600 && b.lifetimeSeconds <= 660, `the entry's X509-SVID TTL is 600 s: ${b.lifetimeSeconds}`);
    assert.deepEqual(Object.keys(x509Summary(ctx.bundles)), [TD]);
    return out;
  },
  {
    legitimate:
      'the chain length (SPIRE signs X509-SVIDs with its root CA, the dev agent with an intermediate; both verify against ' +
      'the bundle), the subject apart from its CN (C=US,O=SPIRE vs O=SPIFFE), the order of SANs (no meaning), and key usage ' +
      'keyEncipherment, which SPIRE also sets on EC keys (the X509-SVID spec requires digitalSignature and allows it)',
  },
);

check("default identity: several SVIDs come in SPIRE's order (sorted by entry ID), the first being the default", async (s) => {
  const x509 = (await s.client.fetchX509Svids()).map((v) => v.id.toString());
  const jwt = (await s.client.fetchJwtSvids({ audience: AUD_1 })).map((v) => v.id.toString());
  assert.equal((await s.client.fetchX509Svid()).id.toString(), x509[0], 'the first X509-SVID is the default');
  assert.equal((await s.client.fetchJwtSvid({ audience: AUD_1 })).id.toString(), jwt[0], 'the first JWT-SVID is the default');
  return {
    x509: orderRule(x509, s),
    jwt: orderRule(jwt, s),
    defaultIdentity: orderRule(x509, s) === 'by entry ID' ? 'lowest entry ID' : 'first created',
  };
});

check('JWT fetch: each token verifies against the JWT bundle, with subject, audience, TTL, hint and header', async (s) => {
  const svids = await s.client.fetchJwtSvids({ audience: [AUD_1, AUD_2] });
  const bundles = await s.client.fetchJwtBundles();
  assert.deepEqual(svids.map((v) => v.id.toString()).sort(), [ID_A, ID_B]);
  const out: Record<string, unknown> = {};
  for (const svid of svids) {
    const validated = await parseAndValidateJwtSvid(svid.token, bundles, [AUD_1]);
    assert.equal(validated.id.toString(), svid.id.toString());
    const header = jwsPart(svid.token, 0);
    const claims = jwsPart(svid.token, 1);
    assert.ok(
      typeof header.kid === 'string' && bundles.get(SpiffeId.fromString(svid.id.toString()).trustDomain)?.findJwtAuthority(header.kid),
      'kid names a key of the bundle',
    );
    out[svid.id.toString()] = {
      hint: svid.hint,
      audience: [...svid.audience].sort(),
      header: { alg: header.alg, typ: header.typ, kid: typeof header.kid },
      claimNames: Object.keys(claims).sort(),
      ttlSeconds: (claims.exp as number) - (claims.iat as number),
    };
  }
  const b = await s.client.fetchJwtSvid({ audience: AUD_1, subject: SpiffeId.fromString(ID_B) });
  assert.equal(b.id.toString(), ID_B, 'spiffe_id picks the identity');
  assert.equal((out[ID_A] as { ttlSeconds: number }).ttlSeconds, 300, 'default JWT-SVID TTL is 5 min');
  assert.equal((out[ID_B] as { ttlSeconds: number }).ttlSeconds, 120, "the entry's JWT-SVID TTL");
  return out;
});

check("FetchJWTSVID: the token's aud claim, and the same token again for the same audiences", async (s) => {
  const raw = new RawWorkloadClient(s.agent.socketPath);
  try {
    const fetch = async (audience: string[]): Promise<string> => {
      const r = await raw.unary<{ svids: Array<{ spiffe_id: string; svid: string }> }>('FetchJWTSVID', { audience, spiffe_id: ID_A });
      assert.ok(r.ok, JSON.stringify(r));
      return r.message.svids[0]!.svid;
    };
    const single = await fetch([AUD_1]);
    const singleAgain = await fetch([AUD_1]);
    const pair = await fetch([AUD_1, AUD_2]);
    const pairReordered = await fetch([AUD_2, AUD_1]);
    return {
      singleAudienceClaim: jwsPart(single, 1).aud,
      pairAudienceClaim: jwsPart(pair, 1).aud,
      sameTokenForSameAudience: single === singleAgain,
      sameTokenForReorderedAudiences: pair === pairReordered,
    };
  } finally {
    raw.close();
  }
});

check(
  "JWT bundles: one JWKS per trust domain ID; the stream's first message equals a fetch",
  async (s) => {
    const raw = new RawWorkloadClient(s.agent.socketPath);
    try {
      const first = await raw.first<{ bundles: Record<string, Buffer> }>('FetchJWTBundles');
      assert.ok(first.ok, JSON.stringify(first));
      const fetched = jwtSummary(await s.client.fetchJwtBundles());
      const watched = jwtSummary(
        await firstUpdate<JwtBundleSet>((signal, onUpdate, onError) =>
          s.client.watchJwtBundles({ onJwtBundlesUpdate: onUpdate, onJwtBundlesWatchError: onError }, signal),
        ),
      );
      assert.deepEqual(watched, fetched);
      const keys: Record<string, unknown> = {};
      const uses: Record<string, unknown> = {};
      for (const [td, json] of Object.entries(first.message.bundles)) {
        const jwks = JSON.parse(Buffer.from(json).toString('utf8')) as { keys: Array<Record<string, unknown>> };
        keys[td] = jwks.keys.map((k) => ({
          members: Object.keys(k)
            .filter((m) => m !== 'use')
            .sort(),
          kty: k.kty,
          crv: k.crv,
        }));
        uses[td] = jwks.keys.map((k) => k.use ?? null);
      }
      return {
        mapKeys: Object.keys(first.message.bundles).sort(),
        trustDomains: Object.keys(fetched),
        keys,
        watchEqualsFetch: true,
        _use: uses,
      };
    } finally {
      raw.close();
    }
  },
  {
    legitimate:
      'the JWK "use" member: the SPIFFE bundle format gives JWT authorities use "jwt-svid", SPIRE leaves it out of the ' +
      'Workload API JWKS, and SPIFFE clients (go-spiffe, ours) accept both',
  },
);

check('X.509 bundles stream: its first message carries the bundles of the X.509 context', async (s) => {
  const raw = new RawWorkloadClient(s.agent.socketPath);
  try {
    const bundlesMsg = await raw.first<{ bundles: Record<string, Buffer>; crl: Buffer[] }>('FetchX509Bundles');
    const svidMsg = await raw.first<{ crl: Buffer[]; federated_bundles: Record<string, Buffer> }>('FetchX509SVID');
    assert.ok(bundlesMsg.ok && svidMsg.ok);
    const ctx = await s.client.fetchX509Context();
    const watched = await firstUpdate<X509BundleSet>((signal, onUpdate, onError) =>
      s.client.watchX509Bundles({ onX509BundlesUpdate: onUpdate, onX509BundlesWatchError: onError }, signal),
    );
    assert.deepEqual(x509Summary(watched), x509Summary(ctx.bundles));
    return {
      trustDomains: Object.keys(x509Summary(watched)),
      streamEqualsContext: true,
      bundlesMapKeys: Object.keys(bundlesMsg.message.bundles).sort(),
      bundlesCrl: bundlesMsg.message.crl.length,
      svidCrl: svidMsg.message.crl.length,
      svidFederatedBundles: Object.keys(svidMsg.message.federated_bundles),
    };
  } finally {
    raw.close();
  }
});

check(
  '`spire-server bundle show` prints the bundle the Workload API serves',
  async (s) => {
    const pem = cliOk(s.agent, ['bundle', 'show'], ['-format', 'pem']);
    const spiffe = JSON.parse(cliOk(s.agent, ['bundle', 'show'], ['-format', 'spiffe'])) as Record<string, unknown> & {
      keys: Array<Record<string, unknown> & { x5c?: string[] }>;
    };
    const ctx = await s.client.fetchX509Context();
    const x509 = x509Summary(ctx.bundles)[TD];
    assert.deepEqual(pemCertificates(pem).map(fingerprint).sort(), x509);
    const x5c = spiffe.keys
      .filter((k) => k.use === 'x509-svid')
      .map((k) => fingerprint(new X509Certificate(Buffer.from(k.x5c![0]!, 'base64'))));
    assert.deepEqual(x5c.sort(), x509);
    const kids = spiffe.keys.filter((k) => k.use === 'jwt-svid').map((k) => k.kid as string);
    assert.deepEqual(kids.sort(), jwtSummary(await s.client.fetchJwtBundles())[TD]);
    return {
      pemEqualsWorkloadApi: true,
      spiffeEqualsWorkloadApi: true,
      members: Object.keys(spiffe)
        .filter((m) => m !== 'spiffe_refresh_hint')
        .sort(),
      _refreshHint: spiffe.spiffe_refresh_hint ?? null,
      keyUses: spiffe.keys.map((k) => k.use).sort(),
    };
  },
  {
    legitimate:
      'spiffe_refresh_hint: the dev agent advertises one by design (-refreshHint, 300 s by default); SPIRE prints none unless configured',
  },
);

check('an unregistered caller gets PermissionDenied "no identity issued" (and what each RPC answers it)', async (s) => {
  const token = (await s.client.fetchJwtSvid({ audience: AUD_1 })).token;
  const view = await callAsUnregistered(appRoot, s.agent.socketPath, token);
  const lib = view.library.fetchX509Svid as { code: string; grpcCode: number; message: string };
  assert.equal(lib.code, 'ERR_WORKLOADAPI_PERMISSION_DENIED', JSON.stringify(view));
  assert.equal(lib.grpcCode, 7);
  assert.match(lib.message, /"no identity issued"/);
  assert.deepEqual(view.raw.FetchX509SVID, { code: 7, details: 'no identity issued' });
  assert.deepEqual(view.raw.FetchJWTSVID, { code: 7, details: 'no identity issued' });
  return {
    library: Object.fromEntries(
      Object.entries(view.library).map(([k, v]) => [k, 'grpcCode' in v ? { code: v.code, grpcCode: v.grpcCode } : v]),
    ),
    raw: view.raw,
  };
});

check('no security header: every RPC answers InvalidArgument "security header missing from request"', async (s) => {
  const raw = new RawWorkloadClient(s.agent.socketPath, { header: false });
  try {
    const out: Record<string, unknown> = {};
    for (const method of [...STREAM_METHODS, ...UNARY_METHODS]) {
      out[method] = statusOf(await raw.call(method));
      assert.deepEqual(out[method], { code: 3, details: 'security header missing from request' }, method);
    }
    return out;
  } finally {
    raw.close();
  }
});

check(
  'ValidateJWTSVID: a valid token, the wrong audience, empty fields, malformed and forged tokens',
  async (s) => {
    const token = (await s.client.fetchJwtSvid({ audience: AUD_1, subject: SpiffeId.fromString(ID_A) })).token;
    const validated = await s.client.validateJwtSvid(token, AUD_1);
    assert.equal(validated.id.toString(), ID_A);
    const raw = new RawWorkloadClient(s.agent.socketPath);
    try {
      const valid = await raw.unary<{ spiffe_id: string; claims: { fields: Record<string, unknown> } }>('ValidateJWTSVID', {
        audience: AUD_1,
        svid: token,
      });
      assert.ok(valid.ok, JSON.stringify(valid));
      const [h, p, sig] = token.split('.') as [string, string, string];
      const forgedSig = Buffer.from(sig, 'base64url');
      forgedSig[0] = forgedSig[0]! ^ 0xff;
      const outcomes = {
        wrongAudience: statusOf(await raw.unary('ValidateJWTSVID', { audience: AUD_OTHER, svid: token })),
        emptyAudience: statusOf(await raw.unary('ValidateJWTSVID', { audience: '', svid: token })),
        emptySvid: statusOf(await raw.unary('ValidateJWTSVID', { audience: AUD_1, svid: '' })),
        malformed: statusOf(await raw.unary('ValidateJWTSVID', { audience: AUD_1, svid: 'not-a-jwt' })),
        forged: statusOf(await raw.unary('ValidateJWTSVID', { audience: AUD_1, svid: `${h}.${p}.${forgedSig.toString('base64url')}` })),
      };
      for (const [name, o] of Object.entries(outcomes))
        assert.equal(o.code, 3, `${name}: InvalidArgument expected, got ${JSON.stringify(o)}`);
      return {
        valid: { spiffeId: valid.message.spiffe_id, claimNames: Object.keys(valid.message.claims.fields).sort() },
        wrongAudience: outcomes.wrongAudience,
        emptyAudience: outcomes.emptyAudience,
        emptySvid: outcomes.emptySvid,
        // The texts of these two come from the JOSE library each agent uses (go-jose, jose).
        malformed: { code: outcomes.malformed.code, _details: outcomes.malformed.details },
        forged: { code: outcomes.forged.code, _details: outcomes.forged.details },
      };
    } finally {
      raw.close();
    }
  },
  {
    legitimate: "the texts for a malformed and a forged token, which come from each agent's JOSE library (go-jose, jose)",
  },
);

check(
  'FetchJWTSVID: no audience, an identity the caller does not hold, an invalid spiffe_id',
  async (s) => {
    const raw = new RawWorkloadClient(s.agent.socketPath);
    try {
      const noAudience = statusOf(await raw.unary('FetchJWTSVID', { audience: [] }));
      const notHeld = statusOf(await raw.unary('FetchJWTSVID', { audience: [AUD_1], spiffe_id: 'spiffe://example.org/server' }));
      const otherTrustDomain = statusOf(
        await raw.unary('FetchJWTSVID', { audience: [AUD_1], spiffe_id: `spiffe://${PARTNER_TD}/differential/a` }),
      );
      const invalid = statusOf(await raw.unary('FetchJWTSVID', { audience: [AUD_1], spiffe_id: 'not-a-spiffe-id' }));
      assert.equal(noAudience.code, 3);
      assert.equal(notHeld.code, 7);
      assert.equal(invalid.code, 3);
      const prefix = 'invalid requested SPIFFE ID: ';
      return {
        noAudience,
        notHeld,
        otherTrustDomain,
        invalid: { code: invalid.code, prefix: invalid.details.startsWith(prefix) ? prefix : invalid.details, _details: invalid.details },
      };
    } finally {
      raw.close();
    }
  },
  {
    legitimate: 'the text after "invalid requested SPIFFE ID: ", which is each SPIFFE ID parser\'s own (go-spiffe\'s, ours)',
  },
);

check('an open FetchX509SVID stream gets a new message when an entry is added and when it is removed', async (s) => {
  const updates: string[][] = [];
  const controller = new AbortController();
  const watching = s.client
    .watchX509Context(
      { onX509ContextUpdate: (ctx) => updates.push(ctx.svids.map((v) => v.id.toString()).sort()), onX509ContextWatchError: () => {} },
      controller.signal,
    )
    .catch(() => {});
  let entryId = '';
  try {
    await until(
      'no first update',
      async () => updates.length,
      (n) => n > 0,
      10_000,
    );
    entryId = createdId(cliOk(s.agent, ['entry', 'create'], ['-parentID', AGENT_ID, '-spiffeID', ID_C, '-selector', UID_SELECTOR]));
    const added = await until(
      'no update with the new entry',
      async () => updates.at(-1)!,
      (ids) => ids.includes(ID_C),
    );
    cliOk(s.agent, ['entry', 'delete'], ['-entryID', entryId]);
    entryId = '';
    const removed = await until(
      'no update without the deleted entry',
      async () => updates.at(-1)!,
      (ids) => !ids.includes(ID_C),
    );
    return { first: updates[0], added, removed };
  } finally {
    if (entryId) serverCli(s.agent, ['entry', 'delete'], ['-entryID', entryId]);
    controller.abort();
    await watching;
  }
});

check('federated bundles: an entry that federates with a trust domain receives its bundle', async (s, kind) => {
  const partner = `spiffe://${PARTNER_TD}`;
  // The dev agent holds a CA for partner.org (-federatedTrustDomain); SPIRE is given its bundle
  // as a federated bundle (as `federation create` would fetch it).
  if (kind === 'spire') cliOk(s.agent, ['bundle', 'set'], ['-id', partner, '-path', federationFixtures().pem]);
  const entryId = createdId(
    cliOk(
      s.agent,
      ['entry', 'create'],
      ['-parentID', AGENT_ID, '-spiffeID', ID_FEDERATED, '-selector', UID_SELECTOR, '-federatesWith', partner],
    ),
  );
  const raw = new RawWorkloadClient(s.agent.socketPath);
  try {
    const ctx = await until(
      'no X.509 context with the federated bundle',
      () => s.client.fetchX509Context(),
      (c) => c.bundles.has(TrustDomain.fromString(PARTNER_TD)),
    );
    const listed = pemCertificates(cliOk(s.agent, ['bundle', 'list'], ['-id', partner, '-format', 'pem']))
      .map(fingerprint)
      .sort();
    assert.deepEqual(x509Summary(ctx.bundles)[PARTNER_TD], listed, 'the federated bundle is the one `bundle list` prints');
    const svidMsg = await raw.first<{ federated_bundles: Record<string, Buffer> }>('FetchX509SVID');
    assert.ok(svidMsg.ok);
    assert.deepEqual(Object.keys(svidMsg.message.federated_bundles), [partner]);
    assert.deepEqual(Object.keys(x509Summary(await s.client.fetchX509Bundles())).sort(), [TD, PARTNER_TD].sort());
    assert.deepEqual(Object.keys(jwtSummary(await s.client.fetchJwtBundles())).sort(), [TD, PARTNER_TD].sort());
    const federated = (await s.client.fetchX509Svids()).find((v) => v.id.toString() === ID_FEDERATED);
    assert.ok(federated, 'the federating entry is served');
    return { federatedBundleKeys: Object.keys(svidMsg.message.federated_bundles) };
  } finally {
    raw.close();
    cliOk(s.agent, ['entry', 'delete'], ['-entryID', entryId]);
    await until(
      'the federating entry is still served',
      () => s.client.fetchX509Svids(),
      (v) => v.every((x) => x.id.toString() !== ID_FEDERATED),
    );
  }
});

check("each app's register.sh runs against the agent's spire-server and prints the same", async (s) => {
  const [first, ...again] = s.registerOutputs;
  const created = parseEntries(first!);
  assert.deepEqual(
    created.map((e) => e.spiffeId),
    ['spiffe://example.org/server', 'spiffe://example.org/client'],
  );
  for (const out of again) assert.match(out, /^Entry for spiffe:\/\/example\.org\/server \(unix:user:server-workload\) already exists$/m);
  return s.registerOutputs.map(withoutEntryIds);
});

/** `entry show`: the workload entries, and apart the node alias entries. */
function listedEntries(s: Setup): { workloads: PrintedEntry[]; aliases: string[] } {
  const all = parseEntries(cliOk(s.agent, ['entry', 'show'], []));
  const isAlias = (e: PrintedEntry): boolean => e.parentId.startsWith(`spiffe://${TD}/spire/agent/`);
  return {
    workloads: all.filter((e) => !isAlias(e)),
    aliases: all.filter(isAlias).map((e) => `${e.spiffeId} (parent ${e.parentId})`),
  };
}

const ALIAS_REASON =
  "SPIRE's node alias entry, which deploy/spire/start.sh makes for its join-token agent (`token generate -spiffeID`); " +
  'the dev agent has no node attestation and so no such entry';

check(
  '`entry show` lists the same entries (SPIFFE ID, parent, selectors, TTLs, DNS names, hint)',
  async (s) => {
    const { workloads, aliases } = listedEntries(s);
    const ids = workloads.map((e) => e.spiffeId).sort();
    assert.deepEqual(ids, [ID_A, ID_B, 'spiffe://example.org/client', 'spiffe://example.org/server'].sort());
    return { entries: workloads.map(entryKey).sort(), _nodeAliases: aliases };
  },
  { legitimate: ALIAS_REASON },
);

check(
  "`entry show` prints the entries in SPIRE's order and format",
  async (s) => {
    const { workloads, aliases } = listedEntries(s);
    return { order: workloads.map((e) => e.spiffeId), blocks: workloads.map((e) => e.text).sort(), _nodeAliases: aliases };
  },
  { legitimate: ALIAS_REASON },
);

check(
  '`entry create` prints the entry it created',
  async (s) => {
    const printed = withoutEntryIds(s.createOutputA);
    // DNS name lines sorted: see `legitimate`.
    const dns = printed.split('\n').filter((l) => l.startsWith('DNS name'));
    const sorted = [...dns].sort();
    let i = 0;
    const normalized = printed
      .split('\n')
      .map((l) => (l.startsWith('DNS name') ? sorted[i++]! : l))
      .join('\n');
    return { output: normalized, _dnsNamesAsPrinted: dns.map((l) => l.replace(/^DNS name\s*: /, '')) };
  },
  {
    legitimate:
      "the order of the DNS name lines: SPIRE's `entry create` prints the entry as its SQL datastore reads it back (here " +
      "sorted), while `entry show` and the SVIDs keep the order given; the X.509 check compares the SVIDs' DNS names in order",
  },
);

check('`entry create -entryID` creates the entry with that ID', async (s) => {
  const customId = 'differential-custom-entry-id';
  const spiffeId = `spiffe://${TD}/differential/custom`;
  const created = serverCli(
    s.agent,
    ['entry', 'create'],
    ['-entryID', customId, '-parentID', AGENT_ID, '-spiffeID', spiffeId, '-selector', 'unix:user:differential-nobody'],
  );
  const shown = parseEntries(serverCli(s.agent, ['entry', 'show'], ['-spiffeID', spiffeId]).stdout);
  for (const e of shown) serverCli(s.agent, ['entry', 'delete'], ['-entryID', e.entryId]);
  return { code: created.code, shownIds: shown.map((e) => e.entryId), stderrFirstLine: created.stderr.split('\n')[0] };
});

check('`entry create` of an entry that exists fails with AlreadyExists', async (s) => {
  // The seeds' server entry, from register.sh.
  const r = serverCli(
    s.agent,
    ['entry', 'create'],
    ['-parentID', AGENT_ID, '-spiffeID', 'spiffe://example.org/server', '-selector', 'unix:user:server-workload'],
  );
  assert.equal(r.code, 1);
  return { code: r.code, output: withoutEntryIds(r.stdout + r.stderr) };
});

// ------------------------------------------------------------------------------- federation

const LIBRARY_TEXTS =
  "texts from each side's libraries (SPIRE's SQL datastore error for a duplicate relationship, Go's JSON, URL and " +
  "trust domain parser errors, a failed fetch's network error): cut after SPIRE's own words, compared up to there";

check(
  '`federation create|list|show|update|refresh|delete` print what spire-server prints, errors and exit codes included',
  async (s) => federationTranscript(s.agent, federationFixtures()),
  { legitimate: LIBRARY_TEXTS },
);

check(
  '`bundle set|list|count|delete` print what spire-server prints, errors and exit codes included',
  async (s) => bundleTranscript(s.agent, federationFixtures(), AGENT_ID, 'unix:user:differential-nobody'),
  { legitimate: LIBRARY_TEXTS },
);
