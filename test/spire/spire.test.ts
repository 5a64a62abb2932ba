// Runs the real SPIRE of deploy/spire (server + agent, binaries from deploy/spire/install.sh) in a
// temporary state dir with its own sockets and ports, so it can run beside other tests and beside
// a SPIRE started with the defaults. It checks the shipped configs, the start/stop scripts, and
// that a registered workload (this process's uid) gets a valid X509-SVID and JWT-SVID.
//
// Without the binaries the suite is skipped, unless SPIFFE_REQUIRE_SPIRE is set (CI), where their
// absence is a failure.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey, randomUUID, sign, verify, type JsonWebKey } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  agentBin,
  assertSpireInstalled,
  binDir,
  describeRun,
  freePort,
  repoRoot,
  run,
  serverBin,
  skip,
  type RunResult,
} from './support.js';

const deployDir = join(repoRoot, 'deploy', 'spire');

const trustDomain = 'example.org';
const nodeAlias = `spiffe://${trustDomain}/host`;

function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function base64UrlJson(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Verifies a compact JWS against a JWKS (the JWT bundle SPIRE hands out); true when it holds. */
function jwsVerifies(token: string, jwks: { keys: (JsonWebKey & { kid?: string })[] }): boolean {
  const [headerPart, payloadPart, signaturePart] = token.split('.');
  if (headerPart === undefined || payloadPart === undefined || signaturePart === undefined) return false;
  const header = base64UrlJson(headerPart);
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  if (!jwk || typeof header.alg !== 'string') return false;
  const alg = header.alg;
  const hash = `sha${alg.slice(2)}`;
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(`${headerPart}.${payloadPart}`);
  const signature = Buffer.from(signaturePart, 'base64url');
  if (alg.startsWith('ES')) return verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (alg.startsWith('RS')) return verify(hash, data, key, signature);
  return false;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('SPIRE on one host (deploy/spire)', { timeout: 120_000 }, () => {
  let stateDir = '';
  let env: NodeJS.ProcessEnv = {};
  let serverSocket = '';
  let agentSocket = '';
  const workloadId = `spiffe://${trustDomain}/test/spire-${randomUUID().slice(0, 8)}`;

  const server = (...args: string[]) => run(serverBin, args, env);
  const agent = (...args: string[]) => run(agentBin, args, env);
  const startScript = () => run('bash', [join(deployDir, 'start.sh')], env);
  const stopScript = () => run('bash', [join(deployDir, 'stop.sh')], env);
  const pidOf = async (name: 'server' | 'agent') => Number((await readFile(join(stateDir, 'run', `${name}.pid`), 'utf8')).trim());

  before(async () => {
    if (skip) return;
    assertSpireInstalled();
    stateDir = await mkdtemp(join(tmpdir(), 'spire-test-'));
    serverSocket = join(stateDir, 'admin', 'server.sock');
    agentSocket = join(stateDir, 'public', 'agent.sock');
    const [serverPort, serverHealthPort, agentHealthPort] = [await freePort(), await freePort(), await freePort()];
    // Settings from a developer's shell (e.g. a sourced spire.env) must not leak into this run.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('SPIRE_') && name !== 'SPIFFE_ENDPOINT_SOCKET'),
    );
    env = {
      ...inherited,
      SPIRE_BIN_DIR: binDir,
      SPIRE_STATE_DIR: stateDir,
      SPIRE_TRUST_DOMAIN: trustDomain,
      SPIRE_SERVER_ADDRESS: '127.0.0.1',
      SPIRE_SERVER_PORT: String(serverPort),
      SPIRE_SERVER_HEALTH_PORT: String(serverHealthPort),
      SPIRE_SERVER_SOCKET: serverSocket,
      SPIRE_AGENT_SOCKET: agentSocket,
      SPIRE_AGENT_HEALTH_PORT: String(agentHealthPort),
      SPIRE_LOG_LEVEL: 'INFO',
    };
  });

  after(async () => {
    if (!stateDir) return;
    const stopped = await stopScript();
    if (stopped.code !== 0) console.error(describeRun('stop.sh (cleanup)', stopped));
    await rm(stateDir, { recursive: true, force: true });
  });

  test('the shipped configs validate; a bad value is reported', { skip }, async () => {
    const cases = [
      { bin: serverBin, conf: 'server.conf', overrides: {}, valid: true, text: 'SPIRE server configuration file is valid.' },
      { bin: agentBin, conf: 'agent.conf', overrides: {}, valid: true, text: 'SPIRE agent configuration file is valid.' },
      { bin: serverBin, conf: 'server.conf', overrides: { SPIRE_SERVER_PORT: 'not-a-port' }, valid: false, text: 'invalid' },
      { bin: agentBin, conf: 'agent.conf', overrides: { SPIRE_TRUST_DOMAIN: '' }, valid: false, text: 'trust_domain' },
    ];
    for (const c of cases) {
      const result = await run(c.bin, ['validate', '-expandEnv', '-config', join(deployDir, c.conf)], {
        ...env,
        ...c.overrides,
      });
      const what = `${c.bin} validate ${c.conf} ${JSON.stringify(c.overrides)}`;
      assert.equal(result.code === 0, c.valid, describeRun(what, result));
      assert.match(result.stdout + result.stderr, new RegExp(c.text.replace(/\./g, '\\.')), describeRun(what, result));
    }
  });

  test('start.sh brings up a healthy server and agent, and a second run reuses them', { skip }, async () => {
    const started = await startScript();
    assert.equal(started.code, 0, describeRun('start.sh', started));
    assert.match(started.stdout, /SPIRE is running \(trust domain example\.org\)/);

    const serverHealth = await server('healthcheck', '-socketPath', serverSocket);
    assert.equal(serverHealth.stdout.trim(), 'Server is healthy.', describeRun('spire-server healthcheck', serverHealth));
    const agentHealth = await agent('healthcheck', '-socketPath', agentSocket);
    assert.equal(agentHealth.stdout.trim(), 'Agent is healthy.', describeRun('spire-agent healthcheck', agentHealth));

    // The Workload API socket is open to every local user; attestation decides what they get.
    assert.equal(statSync(agentSocket).mode & 0o777, 0o777);
    const envFile = await readFile(join(stateDir, 'run', 'spire.env'), 'utf8');
    assert.match(envFile, new RegExp(`SPIFFE_ENDPOINT_SOCKET=unix://${agentSocket}`));

    const pids = { server: await pidOf('server'), agent: await pidOf('agent') };
    const again = await startScript();
    assert.equal(again.code, 0, describeRun('start.sh (second run)', again));
    assert.match(again.stderr, /spire-server already running/);
    assert.match(again.stderr, /spire-agent already running/);
    assert.deepEqual({ server: await pidOf('server'), agent: await pidOf('agent') }, pids);
  });

  test('a workload without a registration entry gets no identity', { skip }, async () => {
    const result = await agent('api', 'fetch', 'x509', '-socketPath', agentSocket, '-timeout', '3s');
    assert.notEqual(result.code, 0, describeRun('spire-agent api fetch x509', result));
    assert.match(result.stderr, /PermissionDenied/);
    assert.match(result.stderr, /no identity issued/);
  });

  test('a registered workload fetches an X509-SVID that chains to the trust bundle', { skip }, async () => {
    const uid = process.getuid?.();
    assert.ok(uid !== undefined, 'this test needs a POSIX uid');
    const created = await server(
      'entry',
      'create',
      '-socketPath',
      serverSocket,
      '-parentID',
      nodeAlias,
      '-spiffeID',
      workloadId,
      '-selector',
      `unix:uid:${uid}`,
    );
    assert.equal(created.code, 0, describeRun('spire-server entry create', created));
    assert.match(created.stdout, /Entry ID\s+: \S+/);

    // A new entry reaches the agent at its next sync (about 5 s): poll rather than sleep.
    const outDir = join(stateDir, 'svid-out');
    await rm(outDir, { recursive: true, force: true });
    await mkdir(outDir, { mode: 0o700 });
    const deadline = Date.now() + 30_000;
    let fetched: RunResult;
    for (;;) {
      fetched = await agent('api', 'fetch', 'x509', '-socketPath', agentSocket, '-write', outDir);
      if (fetched.code === 0 || Date.now() > deadline) break;
      assert.match(fetched.stderr, /no identity issued/, describeRun('spire-agent api fetch x509', fetched));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(fetched.code, 0, describeRun('spire-agent api fetch x509 (until the entry arrived)', fetched));
    assert.match(fetched.stdout, new RegExp(`SPIFFE ID:\\s+${workloadId}`));

    const chain = pemBlocks(await readFile(join(outDir, 'svid.0.pem'), 'utf8')).map((pem) => new X509Certificate(pem));
    const roots = pemBlocks(await readFile(join(outDir, 'bundle.0.pem'), 'utf8')).map((pem) => new X509Certificate(pem));
    const leaf = chain[0];
    assert.ok(leaf, 'svid.0.pem holds no certificate');
    assert.ok(roots.length > 0, 'bundle.0.pem holds no certificate');
    assert.equal(leaf.subjectAltName, `URI:${workloadId}`);
    assert.equal(leaf.ca, false);
    assert.ok(new Date(leaf.validTo).getTime() > Date.now());
    // Walk the chain up to a root of the bundle: each certificate signed by the next one.
    let current = leaf;
    for (const issuer of chain.slice(1)) {
      assert.ok(issuer.ca && current.verify(issuer.publicKey), `${current.subject} is not signed by ${issuer.subject}`);
      current = issuer;
    }
    const root = roots.find((candidate) => current.checkIssued(candidate) && current.verify(candidate.publicKey));
    assert.ok(root, 'the SVID chain does not end at a certificate of the trust bundle');
    assert.ok(root.ca);

    // The private key is written 0600 and belongs to the certificate.
    const keyPath = join(outDir, 'svid.0.key');
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    const privateKey = createPrivateKey(await readFile(keyPath, 'utf8'));
    const message = Buffer.from('proof of possession');
    assert.ok(verify('sha256', message, leaf.publicKey, sign('sha256', message, privateKey)));
  });

  test('the same workload fetches a JWT-SVID that verifies against the JWT bundle', { skip }, async () => {
    const audience = 'spiffe://example.org/test/audience';
    const fetched = await agent('api', 'fetch', 'jwt', '-socketPath', agentSocket, '-audience', audience, '-output', 'json');
    assert.equal(fetched.code, 0, describeRun('spire-agent api fetch jwt', fetched));
    const parsed = JSON.parse(fetched.stdout) as [{ svids: { spiffe_id: string; svid: string }[] }, { bundles: Record<string, string> }];
    const svid = parsed[0].svids[0];
    assert.ok(svid, 'no JWT-SVID in the answer');
    assert.equal(svid.spiffe_id, workloadId);
    const bundleB64 = parsed[1].bundles[`spiffe://${trustDomain}`];
    assert.ok(bundleB64, 'no JWT bundle for the trust domain');
    const jwks = JSON.parse(Buffer.from(bundleB64, 'base64').toString('utf8')) as { keys: JsonWebKey[] };

    const [headerPart = '', payloadPart = ''] = svid.svid.split('.');
    const claims = base64UrlJson(payloadPart);
    assert.equal(claims.sub, workloadId);
    assert.deepEqual(claims.aud, [audience]);
    assert.ok(typeof claims.exp === 'number' && claims.exp * 1000 > Date.now());
    assert.ok(jwsVerifies(svid.svid, jwks), 'the JWT-SVID signature does not verify against the bundle');
    // Counterpart: the same token with a changed payload does not verify.
    const forged = `${headerPart}.${Buffer.from(JSON.stringify({ ...claims, sub: `spiffe://${trustDomain}/other` })).toString('base64url')}.${svid.svid.split('.')[2]}`;
    assert.equal(jwsVerifies(forged, jwks), false);

    // The agent agrees: valid for its audience, rejected for another.
    const valid = await agent('api', 'validate', 'jwt', '-socketPath', agentSocket, '-audience', audience, '-svid', svid.svid);
    assert.equal(valid.code, 0, describeRun('spire-agent api validate jwt', valid));
    assert.match(valid.stdout, /SVID is valid\./);
    const wrongAudience = await agent('api', 'validate', 'jwt', '-socketPath', agentSocket, '-audience', 'other', '-svid', svid.svid);
    assert.notEqual(wrongAudience.code, 0);
    assert.match(wrongAudience.stderr, /expected audience in \["other"\]/);
  });

  test('stop.sh stops both processes and removes the sockets', { skip }, async () => {
    const pids = [await pidOf('server'), await pidOf('agent')];
    const stopped = await stopScript();
    assert.equal(stopped.code, 0, describeRun('stop.sh', stopped));
    for (const pid of pids) assert.equal(processAlive(pid), false, `pid ${pid} still runs after stop.sh`);
    assert.equal(existsSync(serverSocket), false);
    assert.equal(existsSync(agentSocket), false);
    const again = await stopScript();
    assert.equal(again.code, 0, describeRun('stop.sh (second run)', again));
  });
});
