/**
 * The Workload API of the agent, run as a child process and called with a raw grpc-js client.
 */
import { strict as assert } from 'node:assert';
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { AdminClient } from '../admin/client.js';
import {
  openStream,
  securityHeader,
  splitDer,
  startAgentProcess,
  tempDir,
  unary,
  workloadClient,
  type AgentProcess,
  type RawWorkloadClient,
} from '../testing/agent-process.js';

interface X509Svid {
  spiffe_id: string;
  x509_svid: Buffer;
  x509_svid_key: Buffer;
  bundle: Buffer;
  hint: string;
}
interface X509SvidResponse {
  svids: X509Svid[];
  federated_bundles: Record<string, Buffer>;
}
interface BundlesResponse {
  bundles: Record<string, Buffer>;
}
interface JwtSvidResponse {
  svids: Array<{ spiffe_id: string; svid: string; hint: string }>;
}

const uid = process.getuid!();

function uriSans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

function dnsSans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
}

/** Checks an X509-SVID from the wire: chain to the bundle, URI SAN, key pair. */
function assertValidSvid(
  svid: X509Svid,
  expectedId: string,
): { leaf: X509Certificate; intermediate: X509Certificate; roots: X509Certificate[] } {
  assert.equal(svid.spiffe_id, expectedId);
  const [leafDer, intermediateDer, ...more] = splitDer(svid.x509_svid);
  assert.equal(more.length, 0, 'the chain is leaf + intermediate');
  const leaf = new X509Certificate(leafDer!);
  const intermediate = new X509Certificate(intermediateDer!);
  const roots = splitDer(svid.bundle).map((d) => new X509Certificate(d));
  assert.ok(roots.length >= 1);
  assert.deepEqual(uriSans(leaf), [expectedId]);
  assert.equal(leaf.ca, false);
  assert.equal(intermediate.ca, true);
  assert.ok(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey), 'leaf is signed by the intermediate');
  assert.ok(
    roots.some((root) => intermediate.checkIssued(root) && intermediate.verify(root.publicKey)),
    'the intermediate is signed by a root of the bundle',
  );
  for (const root of roots) assert.ok(root.verify(root.publicKey), 'roots are self-signed');
  const now = Date.now();
  assert.ok(new Date(leaf.validFrom).getTime() <= now && now < new Date(leaf.validTo).getTime());
  const key = createPrivateKey({ key: svid.x509_svid_key, format: 'der', type: 'pkcs8' });
  assert.deepEqual(
    createPublicKey(key).export({ type: 'spki', format: 'der' }),
    leaf.publicKey.export({ type: 'spki', format: 'der' }),
    'the private key belongs to the leaf',
  );
  const data = Buffer.from('proof of possession');
  assert.ok(verify(null, data, leaf.publicKey, sign(null, data, key)));
  return { leaf, intermediate, roots };
}

describe('Workload API served by the agent process', () => {
  const dir = tempDir();
  let agent: AgentProcess;
  let admin: AdminClient;
  let client: RawWorkloadClient;
  const tokens: string[] = [];

  before(async () => {
    agent = await startAgentProcess(dir.path, ['-federatedTrustDomain', 'partner.org', '-jwtSVIDTTL', '120']);
    admin = new AdminClient(agent.adminSocketPath);
    // Entry IDs chosen so that ID order (the order served, as SPIRE's) is also creation order.
    await admin.createEntry({
      id: 'b-workload',
      spiffeId: 'spiffe://example.org/workload',
      parentId: 'spiffe://example.org/host',
      selectors: [`unix:uid:${uid}`],
      dnsNames: ['workload.local', 'workload.internal'],
      federatesWith: ['spiffe://partner.org'],
      hint: 'main',
    });
    await admin.createEntry({
      id: 'c-second',
      spiffeId: 'spiffe://example.org/second',
      parentId: 'spiffe://example.org/host',
      selectors: [`unix:user:${userInfo().username}`, `unix:gid:${process.getgid!()}`],
    });
    // Stored but not served: its parent is not this agent.
    await admin.createEntry({
      spiffeId: 'spiffe://example.org/elsewhere',
      parentId: 'spiffe://example.org/other-node',
      selectors: [`unix:uid:${uid}`],
    });
    client = workloadClient(agent.socketPath);
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    dir.remove();
  });

  it('serves every matching X509-SVID, sorted by entry ID, each chaining to its bundle', async () => {
    const stream = openStream<X509SvidResponse>(client, 'FetchX509SVID');
    const res = await stream.message(1);
    stream.cancel();
    assert.deepEqual(
      res.svids.map((s) => s.spiffe_id),
      ['spiffe://example.org/workload', 'spiffe://example.org/second'],
    );
    const first = assertValidSvid(res.svids[0]!, 'spiffe://example.org/workload');
    assert.deepEqual(dnsSans(first.leaf), ['workload.local', 'workload.internal']);
    assert.equal(res.svids[0]!.hint, 'main');
    assertValidSvid(res.svids[1]!, 'spiffe://example.org/second');
    assert.equal(res.svids[1]!.hint, '');
    const ownBundle = await admin.bundle('pem');
    assert.equal(first.roots.map((r) => r.toString()).join(''), ownBundle);
    // The entry federates with partner.org: its bundle comes along, and only that one.
    assert.deepEqual(Object.keys(res.federated_bundles), ['spiffe://partner.org']);
    const partnerRoots = splitDer(res.federated_bundles['spiffe://partner.org']!).map((d) => new X509Certificate(d).toString());
    assert.equal(partnerRoots.join(''), await admin.bundle('pem', 'partner.org'));
    assert.notEqual(partnerRoots.join(''), ownBundle);
  });

  it('serves the same identities in the same order on every call', async () => {
    const ids: string[][] = [];
    for (let i = 0; i < 3; i += 1) {
      const stream = openStream<X509SvidResponse>(client, 'FetchX509SVID');
      ids.push((await stream.message(1)).svids.map((s) => s.spiffe_id));
      stream.cancel();
    }
    assert.deepEqual(ids[1], ids[0]);
    assert.deepEqual(ids[2], ids[0]);
  });

  it('pushes a new message on an open stream when an entry that matches the caller is created', async () => {
    const stream = openStream<X509SvidResponse>(client, 'FetchX509SVID');
    const first = await stream.message(1);
    assert.equal(first.svids.length, 2);
    const entry = await admin.createEntry({
      id: 'd-third',
      spiffeId: 'spiffe://example.org/third',
      selectors: [`unix:uid:${uid}`, `unix:gid:${process.getgid!()}`],
    });
    try {
      const second = await stream.message(2);
      assert.deepEqual(
        second.svids.map((s) => s.spiffe_id),
        ['spiffe://example.org/workload', 'spiffe://example.org/second', 'spiffe://example.org/third'],
      );
      assertValidSvid(second.svids[2]!, 'spiffe://example.org/third');
    } finally {
      stream.cancel();
      await admin.deleteEntry(entry.id);
    }
  });

  it("serves identities in entry ID order, not creation order, on X.509 and JWT alike (SPIRE's order)", async () => {
    // Created last, but its ID sorts first: it becomes the default identity.
    const entry = await admin.createEntry({ id: 'a-newest', spiffeId: 'spiffe://example.org/newest', selectors: [`unix:uid:${uid}`] });
    try {
      const stream = openStream<X509SvidResponse>(client, 'FetchX509SVID');
      const x509 = (await stream.message(1)).svids.map((s) => s.spiffe_id);
      stream.cancel();
      const jwt = (await unary<JwtSvidResponse>(client, 'FetchJWTSVID', { audience: ['order'] })).svids.map((s) => s.spiffe_id);
      const expected = ['spiffe://example.org/newest', 'spiffe://example.org/workload', 'spiffe://example.org/second'];
      assert.deepEqual(x509, expected);
      assert.deepEqual(jwt, expected);
    } finally {
      await admin.deleteEntry(entry.id);
    }
  });

  it("serves the X.509 bundles of the caller's trust domain and of the ones it federates with", async () => {
    const stream = openStream<BundlesResponse>(client, 'FetchX509Bundles');
    const res = await stream.message(1);
    stream.cancel();
    assert.deepEqual(Object.keys(res.bundles).sort(), ['spiffe://example.org', 'spiffe://partner.org']);
    const pem = (der: Buffer): string =>
      splitDer(der)
        .map((d) => new X509Certificate(d).toString())
        .join('');
    assert.equal(pem(res.bundles['spiffe://example.org']!), await admin.bundle('pem'));
    assert.equal(pem(res.bundles['spiffe://partner.org']!), await admin.bundle('pem', 'partner.org'));
  });

  it('issues JWT-SVIDs that verify with the JWT bundle served by FetchJWTBundles', async () => {
    const res = await unary<JwtSvidResponse>(client, 'FetchJWTSVID', { audience: ['svc-a', 'svc-b'] });
    assert.deepEqual(
      res.svids.map((s) => s.spiffe_id),
      ['spiffe://example.org/workload', 'spiffe://example.org/second'],
    );
    assert.equal(res.svids[0]!.hint, 'main');
    const stream = openStream<BundlesResponse>(client, 'FetchJWTBundles');
    const bundles = await stream.message(1);
    stream.cancel();
    assert.deepEqual(Object.keys(bundles.bundles).sort(), ['spiffe://example.org', 'spiffe://partner.org']);
    const jwks = JSON.parse(bundles.bundles['spiffe://example.org']!.toString()) as JSONWebKeySet;
    assert.ok(jwks.keys.length >= 1);
    for (const key of jwks.keys) {
      assert.equal(key.use, 'jwt-svid');
      assert.equal(typeof key.kid, 'string');
      assert.equal(key.d, undefined, 'no private key material');
    }
    // SPIFFE JWT bundles mark keys `use: "jwt-svid"` (generic JWKS helpers look for "sig"), so
    // the key is picked by kid, as a SPIFFE validator does.
    const keyFor = (set: JSONWebKeySet, kid: string | undefined) => {
      const jwk = set.keys.find((k) => k.kid === kid);
      assert.ok(jwk, `no key ${kid} in the bundle`);
      return createPublicKey({ key: jwk, format: 'jwk' });
    };
    for (const svid of res.svids) {
      tokens.push(svid.svid);
      const header = decodeProtectedHeader(svid.svid);
      assert.equal(header.alg, 'ES256');
      assert.equal(header.typ, 'JWT');
      const { payload } = await jwtVerify(svid.svid, keyFor(jwks, header.kid), { audience: 'svc-b', algorithms: ['ES256'] });
      assert.equal(payload.sub, svid.spiffe_id);
      assert.deepEqual(payload.aud, ['svc-a', 'svc-b']);
      assert.equal((payload.exp as number) - (payload.iat as number), 120);
    }
    // The partner.org JWT bundle is a different key set.
    const partner = JSON.parse(bundles.bundles['spiffe://partner.org']!.toString()) as JSONWebKeySet;
    const kid = decodeProtectedHeader(res.svids[0]!.svid).kid;
    assert.ok(!partner.keys.some((k) => k.kid === kid));
    const partnerKey = createPublicKey({ key: partner.keys[0] as JWK, format: 'jwk' });
    await assert.rejects(jwtVerify(res.svids[0]!.svid, partnerKey, { audience: 'svc-a' }));
  });

  it('issues a JWT-SVID for the requested SPIFFE ID only, and none for an ID the caller does not have', async () => {
    const res = await unary<JwtSvidResponse>(client, 'FetchJWTSVID', { audience: ['svc'], spiffe_id: 'spiffe://example.org/second' });
    assert.deepEqual(
      res.svids.map((s) => s.spiffe_id),
      ['spiffe://example.org/second'],
    );
    await assert.rejects(
      unary(client, 'FetchJWTSVID', { audience: ['svc'], spiffe_id: 'spiffe://example.org/elsewhere' }),
      (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED && err.details === 'no identity issued',
    );
    await assert.rejects(
      unary(client, 'FetchJWTSVID', { audience: [] }),
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /audience/.test(err.details),
    );
  });

  it('serves the same JWT-SVID again for the same audiences in any order, as SPIRE does', async () => {
    const fetch = async (audience: string[], spiffeId = 'spiffe://example.org/workload'): Promise<string> =>
      (await unary<JwtSvidResponse>(client, 'FetchJWTSVID', { audience, spiffe_id: spiffeId })).svids[0]!.svid;
    const pair = await fetch(['cache-a', 'cache-b']);
    assert.equal(await fetch(['cache-a', 'cache-b']), pair);
    assert.equal(await fetch(['cache-b', 'cache-a']), pair);
    // Another audience set, or another identity, is another token.
    const single = await fetch(['cache-a']);
    assert.notEqual(single, pair);
    assert.notEqual(await fetch(['cache-a', 'cache-b'], 'spiffe://example.org/second'), pair);
    // An entry deleted and created again (same ID, same SPIFFE ID) gets a new token.
    const temp = { id: 'z-temp', spiffeId: 'spiffe://example.org/temp', selectors: [`unix:uid:${uid}`] };
    await admin.createEntry(temp);
    const first = await fetch(['cache-a'], temp.spiffeId);
    assert.equal(await fetch(['cache-a'], temp.spiffeId), first);
    await admin.deleteEntry(temp.id);
    await admin.createEntry(temp);
    try {
      assert.notEqual(await fetch(['cache-a'], temp.spiffeId), first);
    } finally {
      await admin.deleteEntry(temp.id);
    }
  });

  it("mints a new JWT-SVID once less than half of the cached one's lifetime remains", async () => {
    const entry = await admin.createEntry({
      id: 'z-short-jwt',
      spiffeId: 'spiffe://example.org/short-jwt',
      selectors: [`unix:uid:${uid}`],
      jwtSvidTtl: 4,
    });
    try {
      const fetch = async (): Promise<string> =>
        (await unary<JwtSvidResponse>(client, 'FetchJWTSVID', { audience: ['half-life'], spiffe_id: entry.spiffeId })).svids[0]!.svid;
      const first = await fetch();
      // iat is whole seconds: more than 2 of the 4 s remain for at least a second after minting.
      assert.equal(await fetch(), first);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const second = await fetch();
      assert.notEqual(second, first);
      const claims = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };
      assert.ok(claims(second).iat > claims(first).iat);
      assert.equal(claims(second).exp - claims(second).iat, 4);
    } finally {
      await admin.deleteEntry(entry.id);
    }
  });

  it('validates JWT-SVIDs, and rejects bad ones with InvalidArgument and the reason', async () => {
    const { svids } = await unary<JwtSvidResponse>(client, 'FetchJWTSVID', { audience: ['validator'] });
    const token = svids[0]!.svid;
    const ok = await unary<{
      spiffe_id: string;
      claims: {
        fields: Record<string, { stringValue?: string; numberValue?: number; listValue?: { values: Array<{ stringValue: string }> } }>;
      };
    }>(client, 'ValidateJWTSVID', { audience: 'validator', svid: token });
    assert.equal(ok.spiffe_id, 'spiffe://example.org/workload');
    assert.equal(ok.claims.fields.sub?.stringValue, 'spiffe://example.org/workload');
    assert.deepEqual(
      ok.claims.fields.aud?.listValue?.values.map((v) => v.stringValue),
      ['validator'],
    );
    assert.equal(typeof ok.claims.fields.exp?.numberValue, 'number');

    const [h, p, s] = token.split('.') as [string, string, string];
    const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${p}.`;
    const cases: Array<{ name: string; audience: string; svid: string; reason: RegExp }> = [
      {
        name: 'another audience',
        audience: 'someone-else',
        svid: token,
        reason: /^expected audience in \["someone-else"\] \(audience=\["validator"\]\)$/,
      },
      { name: 'a bad signature', audience: 'validator', svid: `${h}.${p}.${flipped}`, reason: /signature/ },
      { name: 'alg none', audience: 'validator', svid: unsigned, reason: /algorithm/ },
      { name: 'not a JWT', audience: 'validator', svid: 'not-a-token', reason: /malformed/ },
      { name: 'no audience asked', audience: '', svid: token, reason: /audience must be specified/ },
      { name: 'no token', audience: 'validator', svid: '', reason: /svid must be specified/ },
    ];
    for (const c of cases) {
      await assert.rejects(
        unary(client, 'ValidateJWTSVID', { audience: c.audience, svid: c.svid }),
        (err: grpc.ServiceError) => {
          assert.equal(err.code, grpc.status.INVALID_ARGUMENT, c.name);
          assert.match(err.details, c.reason, c.name);
          return true;
        },
        c.name,
      );
    }
  });

  it('answers a request without the security header with InvalidArgument, on every method', async () => {
    const methods: Array<{ method: string; stream: boolean; request: unknown }> = [
      { method: 'FetchX509SVID', stream: true, request: {} },
      { method: 'FetchX509Bundles', stream: true, request: {} },
      { method: 'FetchJWTBundles', stream: true, request: {} },
      { method: 'FetchJWTSVID', stream: false, request: { audience: ['a'] } },
      { method: 'ValidateJWTSVID', stream: false, request: { audience: 'a', svid: 'x.y.z' } },
    ];
    for (const m of methods) {
      for (const withHeader of [false, true]) {
        let code = grpc.status.OK;
        let details = '';
        if (m.stream) {
          const stream = openStream<unknown>(client, m.method, securityHeader(withHeader));
          if (withHeader) {
            await stream.message(1);
            stream.cancel();
          } else {
            const err = await stream.failure();
            code = err.code;
            details = err.details;
          }
        } else {
          try {
            await unary(client, m.method, m.request, securityHeader(withHeader));
          } catch (err) {
            code = (err as grpc.ServiceError).code;
            details = (err as grpc.ServiceError).details;
          }
        }
        if (withHeader) {
          assert.notEqual(details, 'security header missing from request', m.method);
        } else {
          assert.equal(code, grpc.status.INVALID_ARGUMENT, m.method);
          assert.equal(details, 'security header missing from request', m.method);
        }
      }
    }
  });

  it('never answers admin calls on the public socket', async () => {
    const http = (socketPath: string, path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ socketPath, path, method: 'GET', timeout: 5000 }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end();
      });
    // The admin API answers on the admin socket...
    const viaAdmin = await http(agent.adminSocketPath, '/v1/entries');
    assert.equal(viaAdmin.status, 200);
    assert.match(viaAdmin.body, /spiffe:\/\/example.org\/workload/);
    // ...and not on the public one, neither over HTTP/1.1 nor as a gRPC method.
    await assert.rejects(http(agent.socketPath, '/v1/entries'));
    const rpc = new grpc.Client(`unix://${agent.socketPath}`, grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        rpc.makeUnaryRequest(
          '/spiffe.devagent.Admin/ListEntries',
          (x: Buffer) => x,
          (x: Buffer) => x,
          Buffer.alloc(0),
          securityHeader(),
          (e) => resolve(e as grpc.ServiceError),
        );
      });
      assert.equal(err.code, grpc.status.UNIMPLEMENTED);
    } finally {
      rpc.close();
    }
  });

  it('keeps its sockets and state files private as SPIRE does (public 0777 in 0755; admin 0600 in 0700; data 0600 in 0700)', () => {
    const mode = (p: string): number => statSync(p).mode & 0o777;
    assert.equal(mode(agent.socketPath), 0o777);
    assert.equal(mode(join(agent.socketPath, '..')), 0o755);
    assert.equal(mode(agent.adminSocketPath), 0o600);
    assert.equal(mode(join(agent.adminSocketPath, '..')), 0o700);
    assert.equal(mode(agent.dataDir), 0o700);
    const files = readdirSync(agent.dataDir);
    assert.ok(
      files.includes('entries.json') && files.includes('authority-example.org.json') && files.includes('authority-partner.org.json'),
    );
    for (const f of files) assert.equal(mode(join(agent.dataDir, f)), 0o600, f);
  });

  it('logs attestations and issuances, never keys or tokens', () => {
    const log = agent.stderr();
    assert.match(log, /level=info msg="Workload attested" method=FetchX509SVID pid=\d+ uid=\d+/);
    assert.match(log, /level=info msg="Issued X509-SVID" spiffe_id=spiffe:\/\/example.org\/workload/);
    assert.match(log, /level=info msg="Issued JWT-SVID"/);
    assert.ok(tokens.length > 0);
    assert.doesNotMatch(log, /PRIVATE KEY/);
    for (const t of tokens) {
      assert.ok(!log.includes(t), 'a token in the log');
      assert.ok(!log.includes(t.split('.')[2]!), 'a token signature in the log');
    }
  });
});
