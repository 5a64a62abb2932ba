/**
 * No log of an end-to-end run holds key material or a whole JWT-SVID: the demo's scenarios (the
 * success flows and the documented failures: wrong client ID, wrong audience, no token) run as real
 * processes against the dev agent, and every line of every process, the agent's included, is
 * scanned for PEM private keys, base64 key blobs, JWK private members and three-part JWTs. The
 * scanner itself is checked on lines that do leak.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { DEMO_SCENARIOS, DevAgent, register, repoRoot, type ScenarioContext } from '@spiffe-node/harness';
import { TestCa, freePorts } from '@spiffe-node/test-kit';
import { signJwt } from '@spiffe-node/test-kit/fake-agent';
import { findSecrets } from '../secrets.js';

describe('the secret scanner', () => {
  it('finds every kind of leak, and passes ordinary log lines', () => {
    const ca = TestCa.create({ trustDomain: 'example.org' });
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const jwt = signJwt({ sub: 'spiffe://example.org/web', aud: ['x'], exp: 2e9 }, key, 'k1');
    const leaks = [
      ca.keyPem.split('\n')[0]!,
      `key=${ca.keyDer.toString('base64')}`,
      `jwk ${JSON.stringify(key.export({ format: 'jwk' }))}`,
      `Authorization: Bearer ${jwt}`,
    ];
    const found = findSecrets('leaks', leaks);
    assert.deepEqual(
      found.map((f) => f.kind),
      ['pem-private-key', 'base64-blob', 'jwk-private-member', 'jwt'],
    );
    assert.ok(
      found.every((f) => !f.excerpt.includes(jwt) && !f.excerpt.includes(ca.keyDer.toString('base64'))),
      'the report does not repeat the secret',
    );
    const ordinary = [
      'Server listening on 127.0.0.1:55555 as spiffe://example.org/server',
      'time=2026-11-25T23:00:00Z level=info msg="Issued X509-SVID" spiffe_id=spiffe://example.org/web serial=8f3a2b1c9d0e4f5a6b7c8d9e0f1a2b3c',
      `sha256=${'ab'.repeat(32)}`,
      'Invalid token: jwtsvid: expected audience in ["spiffe://example.org/server"] (audience=["spiffe://example.org/other"])',
    ];
    assert.deepEqual(findSecrets('ordinary', ordinary), []);
  });
});

describe('no key material or JWT-SVID in any log of the seed scenarios', () => {
  let agent: DevAgent;
  const root = repoRoot();
  const lines = new Map<string, string[]>();
  before(async () => {
    agent = new DevAgent({
      mode: 'sockets',
      onLine: (l) => (lines.get('dev-agent') ?? lines.set('dev-agent', []).get('dev-agent')!).push(l),
    });
    await agent.start();
    for (const app of ['mtls-echo', 'https-mtls', 'jwt-proxy', 'grpc-greeter']) register(root, app, agent);
  });
  after(async () => {
    await agent?.stop();
  });

  it('every scenario passes and every line of every process is clean', async () => {
    const [server, proxy] = await freePorts(2);
    const ctx: ScenarioContext = {
      root,
      as: (id) => agent.as(id),
      env: {
        SERVER_PORT: String(server),
        SERVER_URL: `https://localhost:${server}/`,
        UPSTREAM_URL: `https://localhost:${server}`,
        PROXY_PORT: String(proxy),
        PROXY_URL: `https://localhost:${proxy}/`,
      },
      onLine: (name, line) => (lines.get(name) ?? lines.set(name, []).get(name)!).push(line),
    };
    for (const scenario of DEMO_SCENARIOS) {
      const result = await scenario(ctx);
      assert.ok(
        result.ok,
        `${result.name}: ${result.checks
          .filter((c) => !c.ok)
          .map((c) => c.what)
          .join('; ')}\n${result.outputs.map((o) => `[${o.name}]\n${o.output}`).join('\n')}`,
      );
    }
    let scanned = 0;
    const findings = [...lines].flatMap(([name, l]) => {
      scanned += l.length;
      return findSecrets(name, l);
    });
    assert.ok(scanned > 50, `lines were captured (${scanned})`);
    assert.ok(lines.has('dev-agent') && lines.has('jwt-proxy/client'), 'the agent and the apps were captured');
    assert.deepEqual(findings, [], `secrets in logs:\n${findings.map((f) => `${f.kind} at ${f.where}: ${f.excerpt}`).join('\n')}`);
  });
});
