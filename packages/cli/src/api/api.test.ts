// `spiffe api ...` as a real process against the fake Workload API agent (a real gRPC server on
// a temporary socket): output, files, modes, PEM order, openssl's view of the files, errors.
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { formatGoTime } from '../go-format.js';
import { FakeAgent, TestCa, jwksBytes, run, runCli, spawnCli, tempDir, x509SvidMessage } from '../testing/fixtures.js';

const example = TestCa.create({ trustDomain: 'example.org' });
const mid = example.intermediate();
const zeta = TestCa.create({ trustDomain: 'zeta.org' });
const alpha = TestCa.create({ trustDomain: 'alpha.org' });
const jwtKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let agent: FakeAgent;
let dir: ReturnType<typeof tempDir>;

function pemBlocks(text: string): X509Certificate[] {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? []).map((p) => new X509Certificate(p));
}

const go = (validity: string): string => formatGoTime(new Date(validity));
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A fresh fake agent and directory for each test of the calling describe block. */
function freshAgentPerTest(): void {
  beforeEach(async () => {
    agent = await FakeAgent.start();
    dir = tempDir('spiffe-cli-api-');
  });
  afterEach(async () => {
    await agent.close();
    dir.remove();
  });
}

describe('spiffe api fetch x509', () => {
  freshAgentPerTest();

  it("prints SPIRE's text and writes SPIRE's files: names, modes, PEM order, federated bundles sorted", async () => {
    const svid = mid.svid('/web');
    agent.setX509SvidResponse({
      svids: [x509SvidMessage(svid, [example.certificate])],
      federated_bundles: { 'spiffe://zeta.org': zeta.der, 'spiffe://alpha.org': alpha.der },
    });
    const out = join(dir.path, 'svids');
    const result = await runCli(['api', 'fetch', 'x509', '-socketPath', agent.socketPath, '-write', out]);
    assert.equal(result.code, 0, result.stderr);
    const expected = [
      '',
      'SPIFFE ID:\t\tspiffe://example.org/web',
      `SVID Valid After:\t${go(svid.leaf.validFrom)}`,
      `SVID Valid Until:\t${go(svid.leaf.validTo)}`,
      `Intermediate #1 Valid After:\t${go(mid.certificate.validFrom)}`,
      `Intermediate #1 Valid Until:\t${go(mid.certificate.validTo)}`,
      `CA #1 Valid After:\t${go(example.certificate.validFrom)}`,
      `CA #1 Valid Until:\t${go(example.certificate.validTo)}`,
      `[spiffe://alpha.org] CA #1 Valid After:\t${go(alpha.certificate.validFrom)}`,
      `[spiffe://alpha.org] CA #1 Valid Until:\t${go(alpha.certificate.validTo)}`,
      `[spiffe://zeta.org] CA #1 Valid After:\t${go(zeta.certificate.validFrom)}`,
      `[spiffe://zeta.org] CA #1 Valid Until:\t${go(zeta.certificate.validTo)}`,
      '',
      `Writing SVID #0 to file ${out}/svid.0.pem.`,
      `Writing key #0 to file ${out}/svid.0.key.`,
      `Writing bundle #0 to file ${out}/bundle.0.pem.`,
      `Writing federated bundle #0 for trust domain spiffe://alpha.org to file ${out}/federated_bundle.0.0.pem.`,
      `Writing federated bundle #1 for trust domain spiffe://zeta.org to file ${out}/federated_bundle.0.1.pem.`,
      '',
    ].join('\n');
    assert.match(result.stdout, /^Received 1 svid after [0-9.]+(ns|µs|ms|s)\n/);
    assert.equal(result.stdout.replace(/^.*\n/, ''), expected);

    // Exactly SPIRE's file names (no temporary file left behind), with their modes.
    assert.deepEqual(readdirSync(out).sort(), [
      'bundle.0.pem',
      'federated_bundle.0.0.pem',
      'federated_bundle.0.1.pem',
      'svid.0.key',
      'svid.0.pem',
    ]);
    const mode = (f: string): number => statSync(join(out, f)).mode & 0o777;
    assert.equal(mode('svid.0.key'), 0o600);
    assert.equal(mode('svid.0.pem'), 0o644);
    assert.equal(mode('bundle.0.pem'), 0o644);
    assert.equal(mode('federated_bundle.0.0.pem'), 0o644);
    assert.equal(statSync(out).mode & 0o777, 0o700);

    // svid.0.pem: the leaf first, then the intermediate; the key is the leaf's, PKCS#8.
    const chain = pemBlocks(readFileSync(join(out, 'svid.0.pem'), 'utf8'));
    assert.deepEqual(
      chain.map((c) => c.fingerprint256),
      [svid.leaf.fingerprint256, mid.certificate.fingerprint256],
    );
    const keyPem = readFileSync(join(out, 'svid.0.key'), 'utf8');
    assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.ok(chain[0]?.checkPrivateKey(createPrivateKey(keyPem)));
    assert.deepEqual(
      pemBlocks(readFileSync(join(out, 'bundle.0.pem'), 'utf8')).map((c) => c.fingerprint256),
      [example.certificate.fingerprint256],
    );
    assert.equal(
      pemBlocks(readFileSync(join(out, 'federated_bundle.0.0.pem'), 'utf8'))[0]?.fingerprint256,
      alpha.certificate.fingerprint256,
    );
    assert.equal(
      pemBlocks(readFileSync(join(out, 'federated_bundle.0.1.pem'), 'utf8'))[0]?.fingerprint256,
      zeta.certificate.fingerprint256,
    );

    // openssl accepts the files as they are.
    const verify = await run('openssl', ['verify', '-partial_chain', '-CAfile', 'bundle.0.pem', '-untrusted', 'svid.0.pem', 'svid.0.pem'], {
      cwd: out,
    });
    assert.equal(verify.stdout.trim(), 'svid.0.pem: OK', verify.stderr);
    // ...and refuses them against another trust domain's bundle (the check can fail).
    const wrong = await run(
      'openssl',
      ['verify', '-partial_chain', '-CAfile', 'federated_bundle.0.0.pem', '-untrusted', 'svid.0.pem', 'svid.0.pem'],
      { cwd: out },
    );
    assert.notEqual(wrong.code, 0);
  });

  it('writes every SVID (svid.N.*), prints "Received 2 svids", and -silent prints only the file lines', async () => {
    const a = example.svid('/a');
    const b = example.svid('/b');
    agent.setX509SvidResponse({ svids: [x509SvidMessage(a, [example.certificate]), x509SvidMessage(b, [example.certificate])] });
    const loud = await runCli(['api', 'fetch', 'x509', '-socketPath', `unix://${agent.socketPath}`]);
    assert.equal(loud.code, 0, loud.stderr);
    assert.match(loud.stdout, /^Received 2 svids after /);
    assert.match(loud.stdout, /SPIFFE ID:\t\tspiffe:\/\/example\.org\/a\n[\s\S]*SPIFFE ID:\t\tspiffe:\/\/example\.org\/b\n/);
    const silent = await runCli(['api', 'fetch', 'x509', '-socketPath', agent.socketPath, '-silent', '-write', dir.path]);
    assert.equal(silent.code, 0, silent.stderr);
    assert.doesNotMatch(silent.stdout, /SPIFFE ID/);
    assert.match(silent.stdout, /^Writing SVID #0 to file /);
    assert.deepEqual(readdirSync(dir.path).sort(), [
      'bundle.0.pem',
      'bundle.1.pem',
      'svid.0.key',
      'svid.0.pem',
      'svid.1.key',
      'svid.1.pem',
    ]);
    assert.equal(pemBlocks(readFileSync(join(dir.path, 'svid.1.pem'), 'utf8'))[0]?.fingerprint256, b.leaf.fingerprint256);
  });

  it('finds the agent through SPIFFE_ENDPOINT_SOCKET when -socketPath is not given', async () => {
    agent.setX509SvidResponse({ svids: [x509SvidMessage(example.svid('/env'), [example.certificate])] });
    const result = await runCli(['api', 'fetch', 'x509'], { env: { SPIFFE_ENDPOINT_SOCKET: agent.address } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /spiffe:\/\/example\.org\/env/);
  });
});

// Independent processes: these run concurrently, against one agent of their own.
describe('spiffe api fetch x509: errors say what to check', { concurrency: true }, () => {
  let silentServer: Server;
  let silentSocket: string;
  let errAgent: FakeAgent;
  let errDir: ReturnType<typeof tempDir>;
  before(async () => {
    errAgent = await FakeAgent.start();
    errDir = tempDir('spiffe-cli-errors-');
    // A socket that accepts connections and never answers: the call can only time out.
    silentSocket = join(errDir.path, 'silent.sock');
    silentServer = createServer(() => {});
    await new Promise<void>((resolve) => silentServer.listen(silentSocket, resolve));
  });
  after(async () => {
    silentServer.close();
    await errAgent.close();
    errDir.remove();
  });

  const cases: Array<{ name: string; args: () => string[]; env?: Record<string, string | undefined>; error: RegExp }> = [
    {
      name: 'a socket that does not exist',
      args: () => ['-socketPath', join(errDir.path, 'missing.sock')],
      error:
        /^cannot reach the Workload API: the socket .*missing\.sock \(-socketPath\) does not exist; check that the agent is running and that -socketPath or SPIFFE_ENDPOINT_SOCKET names its socket\n$/,
    },
    {
      name: 'no registration entry for this process',
      args: () => ['-socketPath', errAgent.socketPath],
      error: new RegExp(
        `^the agent at socket .* issued no identity to this process \\(uid ${process.getuid?.()}.*\\(PermissionDenied: no identity issued\\); check that a registration entry matches this process \\(for example -selector unix:uid:${process.getuid?.()}\\)`,
      ),
    },
    {
      name: 'an agent that does not answer in time',
      args: () => ['-socketPath', silentSocket, '-timeout', '300ms'],
      error:
        /^no answer from the Workload API at socket .*silent\.sock \(-socketPath\) within 300 ms; check that the agent is healthy, or give it longer with -timeout\n$/,
    },
    {
      name: 'an invalid SPIFFE_ENDPOINT_SOCKET',
      args: () => [],
      env: { SPIFFE_ENDPOINT_SOCKET: '/no/scheme.sock' },
      error: /^workloadapi: .*SPIFFE_ENDPOINT_SOCKET.*scheme is missing/,
    },
    {
      name: "nothing configured: SPIRE's default socket",
      args: () => [],
      env: { SPIFFE_ENDPOINT_SOCKET: undefined },
      // (Normally no agent listens there: "does not exist"; on a machine running SPIRE, its refusal.)
      error:
        /socket \/tmp\/spire-agent\/public\/api\.sock \(SPIRE's default; set -socketPath or SPIFFE_ENDPOINT_SOCKET for another\) (does not exist|issued no identity)/,
    },
    { name: 'an unknown flag', args: () => ['-bogus'], error: /^flag provided but not defined: -bogus\nUsage of api fetch x509:/ },
  ];
  for (const c of cases) {
    it(`reports ${c.name} (exit 1)`, async () => {
      const result = await runCli(['api', 'fetch', 'x509', ...c.args()], { env: c.env });
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, c.error);
      assert.equal(result.stdout, '');
    });
  }
  it('succeeds with an agent that has an entry (the counterpart of the refusals)', async () => {
    const withEntry = await FakeAgent.start();
    try {
      withEntry.setX509SvidResponse({ svids: [x509SvidMessage(example.svid('/ok'), [example.certificate])] });
      const result = await runCli(['api', 'fetch', 'x509', '-socketPath', withEntry.socketPath, '-timeout', '5s']);
      assert.equal(result.code, 0, result.stderr);
    } finally {
      await withEntry.close();
    }
  });
});

describe('spiffe api fetch jwt / validate jwt', () => {
  freshAgentPerTest();
  beforeEach(() => {
    agent.setJwtIssuer({ ids: ['spiffe://example.org/web'], key: jwtKey.privateKey, kid: 'k1', ttlSeconds: 300 });
    agent.setJwtBundlesResponse({ bundles: { 'spiffe://example.org': jwksBytes(new Map([['k1', jwtKey.publicKey]])) } });
  });

  it('prints token(<id>) and bundle(<td>) as SPIRE does, for comma-separated and repeated audiences', async () => {
    const result = await runCli([
      'api',
      'fetch',
      'jwt',
      '-socketPath',
      agent.socketPath,
      '-audience',
      'spiffe://example.org/db,aud2',
      '-audience',
      'aud3',
      '-spiffeID',
      'spiffe://example.org/web',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const m = /^token\(spiffe:\/\/example\.org\/web\):\n\t([\w-]+\.[\w-]+\.[\w-]+)\nbundle\(spiffe:\/\/example\.org\):\n\t(\{.*\})\n$/.exec(
      result.stdout,
    );
    assert.ok(m, result.stdout);
    const claims = JSON.parse(Buffer.from((m[1] as string).split('.')[1] as string, 'base64url').toString()) as { aud: string[] };
    assert.deepEqual(claims.aud, ['spiffe://example.org/db', 'aud2', 'aud3']);
    assert.equal((JSON.parse(m[2] as string) as { keys: Array<{ kid: string }> }).keys[0]?.kid, 'k1');
    const [call] = agent.callsTo('FetchJWTSVID');
    assert.equal((call?.request as { spiffe_id: string }).spiffe_id, 'spiffe://example.org/web');
  });

  it('refuses to fetch without an audience', async () => {
    const result = await runCli(['api', 'fetch', 'jwt', '-socketPath', agent.socketPath]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'audience must be specified (-audience)\n');
  });

  it('validates a token: the SPIFFE ID and claims; exits 1 with the reason for another audience', async () => {
    const fetched = await runCli(['api', 'fetch', 'jwt', '-socketPath', agent.socketPath, '-audience', 'spiffe://example.org/db']);
    const token = fetched.stdout.split('\n')[1]?.trim() ?? '';
    const ok = await runCli([
      'api',
      'validate',
      'jwt',
      '-socketPath',
      agent.socketPath,
      '-audience',
      'spiffe://example.org/db',
      '-svid',
      token,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stdout,
      /^SVID is valid\.\nSPIFFE ID : spiffe:\/\/example\.org\/web\nClaims {4}: \{"aud":\["spiffe:\/\/example\.org\/db"\],"exp":\d+,"iat":\d+,"sub":"spiffe:\/\/example\.org\/web"\}\n$/,
    );
    const bad = await runCli([
      'api',
      'validate',
      'jwt',
      '-socketPath',
      agent.socketPath,
      '-audience',
      'spiffe://example.org/other',
      '-svid',
      token,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^SVID is not valid: expected audience in \["spiffe:\/\/example\.org\/db"\]\n$/);
    assert.equal(bad.stdout, '');
  });
});

describe('spiffe api watch', () => {
  freshAgentPerTest();
  it('prints each rotation as it arrives, and exits 0 on SIGINT', async () => {
    const first = example.svid('/web', { notAfter: new Date(Date.now() + 3600_000) });
    agent.setX509SvidResponse({ svids: [x509SvidMessage(first, [example.certificate])] });
    const watch = spawnCli(['api', 'watch', '-socketPath', agent.socketPath]);
    try {
      await watch.waitFor(/Received 1 svid after .*\n\n[\s\S]*CA #1 Valid Until:.*\n\n/);
      const second = example.svid('/web', { notAfter: new Date(Date.now() + 7200_000) });
      agent.setX509SvidResponse({ svids: [x509SvidMessage(second, [example.certificate])] });
      await watch.waitFor(new RegExp(`SVID Valid Until:\\t${escape(go(second.leaf.validTo))}\n`));
      const blocks = watch
        .stdout()
        .split(/^Received /m)
        .filter((b) => b !== '');
      assert.equal(blocks.length, 2);
      assert.match(blocks[0] as string, new RegExp(`SVID Valid Until:\\t${escape(go(first.leaf.validTo))}`));
      assert.match(blocks[1] as string, /^1 svid after [0-9.]+(ms|s)\n/);
    } finally {
      const result = await watch.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
    }
  });
});
