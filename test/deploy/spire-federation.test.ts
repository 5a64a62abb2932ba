// deploy/spire/federation.sh on the real SPIRE binaries: two trust domains (example.org and
// partner.org) on this host, each a server and an agent started by start.sh, with their own state
// dirs, sockets and free ports in a scratch directory. `up` must leave each server holding the
// other's bundle, fetched from the other's bundle endpoint over https_spiffe; a workload entry with
// -federatesWith must then hand the partner's CA to its workload through the agent's Workload API;
// `down` must stop all four processes. Without the binaries: skipped with the reason, unless
// SPIFFE_REQUIRE_SPIRE is set (CI).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, waitFor } from './lib/net.js';
import { deployDir, describeRun, run, type RunResult } from './lib/repo.js';
import { spireAgentBin, spireServerBin, spireSkip } from './lib/spire.js';

const federationScript = join(deployDir, 'spire', 'federation.sh');

/** The CA certificates of a PEM text, DER-encoded as base64, in order. */
function pemCertificates(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => (m[1] ?? '').replace(/\s+/g, ''));
}

describe('deploy/spire/federation.sh on the real SPIRE binaries', { skip: spireSkip }, () => {
  let scratch = '';
  let env: NodeJS.ProcessEnv = {};
  const sockets = { homeServer: '', homeAgent: '', partnerServer: '' };
  const federation = (command: string): Promise<RunResult> => run('bash', [federationScript, command], { env });
  const serverAt = (socket: string, args: string[]): Promise<RunResult> => run(spireServerBin, [...args, '-socketPath', socket]);

  before(async () => {
    for (const bin of [spireServerBin, spireAgentBin]) {
      assert.ok(existsSync(bin), `${bin} is missing (SPIFFE_REQUIRE_SPIRE is set): run deploy/spire/install.sh`);
    }
    // Short: a Unix socket path has at most 107 bytes.
    scratch = await mkdtemp('/tmp/sdfed-');
    sockets.homeServer = join(scratch, 'a-server', 'api.sock');
    sockets.homeAgent = join(scratch, 'a-agent', 'api.sock');
    sockets.partnerServer = join(scratch, 'b-server', 'api.sock');
    const ports: number[] = [];
    while (ports.length < 8) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    const [a1, a2, a3, a4, b1, b2, b3, b4] = ports.map(String);
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SPIRE_BIN_DIR: join(spireServerBin, '..'),
      SPIRE_STATE_DIR: join(scratch, 'a'),
      SPIRE_SERVER_PORT: a1,
      SPIRE_SERVER_HEALTH_PORT: a2,
      SPIRE_AGENT_HEALTH_PORT: a3,
      SPIRE_BUNDLE_ENDPOINT_PORT: a4,
      SPIRE_SERVER_SOCKET: sockets.homeServer,
      SPIRE_AGENT_SOCKET: sockets.homeAgent,
      SPIRE_PARTNER_STATE_DIR: join(scratch, 'b'),
      SPIRE_PARTNER_SERVER_PORT: b1,
      SPIRE_PARTNER_SERVER_HEALTH_PORT: b2,
      SPIRE_PARTNER_AGENT_HEALTH_PORT: b3,
      SPIRE_PARTNER_BUNDLE_ENDPOINT_PORT: b4,
      SPIRE_PARTNER_SERVER_SOCKET: sockets.partnerServer,
      SPIRE_PARTNER_AGENT_SOCKET: join(scratch, 'b-agent', 'api.sock'),
    };
  });

  after(async () => {
    if (!scratch) return;
    const down = await federation('down');
    await rm(scratch, { recursive: true, force: true });
    assert.equal(down.code, 0, describeRun('federation.sh down', down));
  });

  test("up starts both trust domains and each server fetches the other's bundle from its endpoint", async () => {
    const result = await federation('up');
    assert.equal(result.code, 0, describeRun('federation.sh up', result));
    assert.match(result.stderr, /example\.org fetched the bundle of partner\.org from its bundle endpoint \(Bundle refreshed\)/);
    assert.match(result.stderr, /partner\.org fetched the bundle of example\.org from its bundle endpoint \(Bundle refreshed\)/);
    assert.match(result.stdout, /^example\.org holds the bundles of: partner\.org$/m);
    assert.match(result.stdout, /^partner\.org holds the bundles of: example\.org$/m);
    assert.match(result.stdout, /bundle endpoint: https:\/\/127\.0\.0\.1:\d+ \(https_spiffe, spiffe:\/\/partner\.org\/spire\/server\)/);
  });

  test("each server holds the partner's current CA, as the partner shows it", async () => {
    for (const [holder, owner, td] of [
      [sockets.homeServer, sockets.partnerServer, 'partner.org'],
      [sockets.partnerServer, sockets.homeServer, 'example.org'],
    ] as const) {
      const held = await serverAt(holder, ['bundle', 'list', '-id', `spiffe://${td}`, '-format', 'pem']);
      assert.equal(held.code, 0, describeRun(`bundle list -id spiffe://${td}`, held));
      const own = await serverAt(owner, ['bundle', 'show', '-format', 'pem']);
      assert.equal(own.code, 0, describeRun('bundle show', own));
      assert.deepEqual(pemCertificates(held.stdout), pemCertificates(own.stdout));
      assert.ok(pemCertificates(own.stdout).length > 0, `${td} shows no CA certificate`);
    }
  });

  test("an entry with -federatesWith gives its workload the partner's bundle through the Workload API", async () => {
    const uid = process.getuid?.() ?? 0;
    const created = await serverAt(sockets.homeServer, [
      'entry',
      'create',
      '-parentID',
      'spiffe://example.org/host',
      '-spiffeID',
      'spiffe://example.org/federated-test',
      '-selector',
      `unix:uid:${uid}`,
      '-federatesWith',
      'partner.org',
    ]);
    assert.equal(created.code, 0, describeRun('entry create -federatesWith', created));
    assert.match(created.stdout, /FederatesWith\s*:\s*partner\.org/);
    const out = join(scratch, 'fetched');
    await mkdir(out);
    // The agent learns of a new entry at its next sync (about 5 s).
    await waitFor('the X509-SVID of spiffe://example.org/federated-test', async () => {
      const fetched = await run(spireAgentBin, ['api', 'fetch', 'x509', '-socketPath', sockets.homeAgent, '-write', out]);
      return fetched.code === 0 && existsSync(join(out, 'federated_bundle.0.0.pem'));
    });
    const svid = new X509Certificate(await readFile(join(out, 'svid.0.pem'), 'utf8'));
    assert.match(svid.subjectAltName ?? '', /URI:spiffe:\/\/example\.org\/federated-test/);
    const files = (await readdir(out)).filter((f) => f.startsWith('federated_bundle.0.'));
    assert.deepEqual(files, ['federated_bundle.0.0.pem'], 'exactly one federated trust domain');
    const partnerCa = await serverAt(sockets.partnerServer, ['bundle', 'show', '-format', 'pem']);
    assert.deepEqual(pemCertificates(await readFile(join(out, 'federated_bundle.0.0.pem'), 'utf8')), pemCertificates(partnerCa.stdout));
  });

  test("the refresh goes to the partner's endpoint: with the partner's server stopped, it fails", async () => {
    const pid = Number((await readFile(join(scratch, 'b', 'run', 'server.pid'), 'utf8')).trim());
    process.kill(pid, 'SIGTERM');
    await waitFor("the partner's spire-server to exit", async () => (await serverAt(sockets.partnerServer, ['healthcheck'])).code !== 0);
    await waitFor("the partner's bundle endpoint to close", async () => {
      const refresh = await serverAt(sockets.homeServer, ['federation', 'refresh', '-id', 'spiffe://partner.org']);
      return refresh.code !== 0 && /failed to fetch federated bundle from endpoint/.test(`${refresh.stdout}${refresh.stderr}`);
    });
  });

  test('down stops both trust domains', async () => {
    const down = await federation('down');
    assert.equal(down.code, 0, describeRun('federation.sh down', down));
    // Both agents and example.org's server; partner.org's server was stopped above.
    assert.equal((down.stderr.match(/stopped spire-(server|agent) \(pid \d+\)/g) ?? []).length, 3, down.stderr);
    for (const socket of [sockets.homeServer, sockets.partnerServer]) {
      assert.notEqual((await serverAt(socket, ['healthcheck'])).code, 0, `a server still answers on ${socket}`);
    }
  });
});
