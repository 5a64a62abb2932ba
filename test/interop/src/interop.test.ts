/**
 * Interoperability with go-spiffe (v2.9.0, the reference SDK), with real processes run as the
 * seeds' Unix users, on the development agent and on real SPIRE:
 *
 * - each seed scenario across languages, both ways: a go-spiffe client against our server app and
 *   our client app against a go-spiffe server, accepted with the right identity and rejected with
 *   a wrong one (mTLS echo, HTTPS over mTLS, JWT-SVID bearer);
 * - go-spiffe's Workload API client fetching X.509 and JWT SVIDs and bundles from the agent and
 *   validating them (for the dev agent, the strongest check that it speaks the real Workload API),
 *   cross-checked against what our own client sees on the same agent.
 *
 * Go builds the peers at the start (cached). Without Go the suite is skipped, or fails when
 * SPIFFE_REQUIRE_SPIRE is set; the SPIRE half likewise without SPIRE. SPIFFE_INTEROP_AGENTS=dev
 * (or spire) runs one half only.
 */
import assert from 'node:assert/strict';
import { type X509Certificate, createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLIENT_USER, devAgentDir, type AgentHandle, type DevAgent, type Workload } from '@spiffe-node/harness';
import { WorkloadApiClient, parseAndValidateJwtSvid } from '@spiffe-node/spiffe';
import { freePorts } from '@spiffe-node/test-kit';
import {
  CLIENT_ID,
  InteropEnv,
  SERVER_ID,
  finish,
  lineAfter,
  literal,
  outputAfter,
  quietLogger,
  skipReason,
  type AgentKind,
} from './support.js';

const OTHER_ID = 'spiffe://example.org/other';
const OTHER_AUDIENCE = 'spiffe://example.org/some-other-server';
const WRONG_AUDIENCE_LOG = new RegExp(
  `^Invalid token: jwtsvid: expected audience in \\["${literal(SERVER_ID)}"\\] \\(audience=\\["${literal(OTHER_AUDIENCE)}"\\]\\)$`,
);

function selected(kind: AgentKind): string | undefined {
  const list = (process.env.SPIFFE_INTEROP_AGENTS ?? 'dev,spire').split(',').map((s) => s.trim());
  return list.includes(kind) ? undefined : `SPIFFE_INTEROP_AGENTS=${process.env.SPIFFE_INTEROP_AGENTS} leaves out ${kind}`;
}

/** A long-running server process shared by the tests of one describe block. */
interface Started {
  server: Workload;
  port: number;
}

for (const kind of ['dev', 'spire'] as const) {
  const skip = selected(kind) ?? skipReason(kind);
  const agentName = kind === 'dev' ? 'the dev agent' : 'real SPIRE';

  describe(`go-spiffe interop on ${agentName}`, { skip: skip ?? false, timeout: 240_000 }, () => {
    let env: InteropEnv;

    before(async () => {
      env = await InteropEnv.start(kind);
    });
    after(async () => {
      await env?.stop();
    });

    /** Starts a server and waits until it listens. */
    async function serve(start: (port: number) => Workload): Promise<Started> {
      const [port] = await freePorts(1);
      const server = start(port!);
      await server.waitForLine(/^Server listening/, 40_000);
      return { server, port: port! };
    }

    // --------------------------------------------------- go-spiffe's spiffe-tls example: mTLS echo

    describe('mtls-echo: go-spiffe client → our server', () => {
      let s: Started;
      before(async () => {
        s = await serve((port) => env.app('mtls-echo', 'server', 'server', [], { SERVER_PORT: String(port) }));
      });
      after(() => s?.server.stop());

      it('accepts the go-spiffe client with the client identity', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.go('mtls-echo-client', 'client', ['-port', String(s.port)]));
        assert.equal(r.code, 0, r.output);
        assert.ok(r.stdout.includes('Server says: Hello client'), r.output);
        await lineAfter(s.server, mark, /^Client says: Hello server$/);
      });

      it('rejects the go-spiffe client with the server identity', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.go('mtls-echo-client', 'server', ['-port', String(s.port)]));
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /^Unable to (read server response|connect to)/m);
        assert.doesNotMatch(r.output, /Server says/);
        await lineAfter(s.server, mark, new RegExp(`^Error reading incoming data: unexpected ID "${literal(SERVER_ID)}"$`));
        assert.doesNotMatch(outputAfter(s.server, mark), /Client says/);
      });

      it('the go-spiffe client refuses our server when it expects another server ID', async () => {
        const r = await finish(env.go('mtls-echo-client', 'client', ['-port', String(s.port), '-server-id', OTHER_ID]));
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, new RegExp(`unexpected ID "${literal(SERVER_ID)}"`));
      });
    });

    describe('mtls-echo: our client → go-spiffe server', () => {
      let s: Started;
      before(async () => {
        s = await serve((port) => env.go('mtls-echo-server', 'server', ['-port', String(port)]));
      });
      after(() => s?.server.stop());

      it('the go-spiffe server accepts our client with the client identity', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.app('mtls-echo', 'client', 'client', [], { SERVER_PORT: String(s.port) }));
        assert.equal(r.code, 0, r.output);
        assert.ok(r.stdout.includes('Server says: Hello client'), r.output);
        await lineAfter(s.server, mark, /^Client says: Hello server$/);
      });

      it('the go-spiffe server rejects our client with the server identity', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.app('mtls-echo', 'client', 'server', [], { SERVER_PORT: String(s.port) }));
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /Unable to read server response/);
        await lineAfter(s.server, mark, new RegExp(`^Error reading incoming data: unexpected ID "${literal(SERVER_ID)}"$`));
        assert.doesNotMatch(outputAfter(s.server, mark), /Client says/);
      });

      it('our client refuses the go-spiffe server when it expects another server ID', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.app('mtls-echo', 'client', 'client', [], { SERVER_PORT: String(s.port), SERVER_SPIFFE_ID: OTHER_ID }));
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, new RegExp(`unexpected ID "${literal(SERVER_ID)}"`));
        assert.doesNotMatch(outputAfter(s.server, mark), /Client says/);
      });
    });

    // -------------------------------------------- go-spiffe's spiffe-http example: HTTPS over mTLS

    describe('https-mtls: go-spiffe client → our server', () => {
      let s: Started;
      before(async () => {
        s = await serve((port) => env.app('https-mtls', 'server', 'server', [], { SERVER_PORT: String(port) }));
      });
      after(() => s?.server.stop());

      it('accepts the go-spiffe client with the client identity', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.go('https-mtls-client', 'client', ['-url', `https://localhost:${s.port}/`]));
        assert.equal(r.code, 0, r.output);
        assert.ok(r.stdout.includes('Success!!!'), r.output);
        await lineAfter(s.server, mark, new RegExp(`^Request received from ${literal(CLIENT_ID)}$`));
      });

      it('rejects the go-spiffe client with the server identity', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.go('https-mtls-client', 'server', ['-url', `https://localhost:${s.port}/`]));
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /^Error connecting to "https:\/\/localhost:\d+\/"/m);
        assert.doesNotMatch(r.output, /Success!!!/);
        await lineAfter(s.server, mark, new RegExp(`^TLS handshake error from [0-9a-f.:]+:\\d+: unexpected ID "${literal(SERVER_ID)}"$`));
        assert.doesNotMatch(outputAfter(s.server, mark), /Request received/);
      });

      it('the go-spiffe client refuses our server when it expects another server ID', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.go('https-mtls-client', 'client', ['-url', `https://localhost:${s.port}/`, '-server-id', OTHER_ID]));
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, new RegExp(`unexpected ID "${literal(SERVER_ID)}"`));
        assert.doesNotMatch(outputAfter(s.server, mark), /Request received/);
      });
    });

    describe('https-mtls: our client → go-spiffe server', () => {
      let s: Started;
      before(async () => {
        s = await serve((port) => env.go('https-mtls-server', 'server', ['-port', String(port)]));
      });
      after(() => s?.server.stop());

      it('the go-spiffe server accepts our client with the client identity', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.app('https-mtls', 'client', 'client', [], { SERVER_URL: `https://localhost:${s.port}/` }));
        assert.equal(r.code, 0, r.output);
        assert.ok(r.stdout.includes('Success!!!'), r.output);
        await lineAfter(s.server, mark, new RegExp(`^Request received from ${literal(CLIENT_ID)}$`));
      });

      it('the go-spiffe server rejects our client with the server identity', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.app('https-mtls', 'client', 'server', [], { SERVER_URL: `https://localhost:${s.port}/` }));
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /Error connecting to "https:\/\/localhost:\d+\/"/);
        // net/http logs the refused handshake with go-spiffe's authorizer error.
        await lineAfter(s.server, mark, new RegExp(`^http: TLS handshake error from [0-9.:]+: unexpected ID "${literal(SERVER_ID)}"$`));
        assert.doesNotMatch(outputAfter(s.server, mark), /Request received/);
      });

      it('our client refuses the go-spiffe server when it expects another server ID', async () => {
        const mark = s.server.lines.length;
        const r = await finish(
          env.app('https-mtls', 'client', 'client', [], { SERVER_URL: `https://localhost:${s.port}/`, SERVER_SPIFFE_ID: OTHER_ID }),
        );
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, new RegExp(`unexpected ID "${literal(SERVER_ID)}"`));
        assert.doesNotMatch(outputAfter(s.server, mark), /Request received/);
      });
    });

    // --------------------------------- go-spiffe's spiffe-jwt-using-proxy example: JWT-SVID bearer

    describe('jwt: go-spiffe client → our JWT server', () => {
      let s: Started;
      before(async () => {
        s = await serve((port) => env.app('jwt-proxy', 'server', 'server', [], { SERVER_PORT: String(port) }));
      });
      after(() => s?.server.stop());

      it("accepts the go-spiffe client's JWT-SVID for its audience", async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.go('jwt-client', 'client', ['-url', `https://localhost:${s.port}/`]));
        assert.equal(r.code, 0, r.output);
        assert.ok(r.stdout.includes('Success!!!'), r.output);
        await lineAfter(s.server, mark, new RegExp(`^Request received from ${literal(CLIENT_ID)}$`));
      });

      it('answers 401 to a go-spiffe JWT-SVID for another audience', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.go('jwt-client', 'client', ['-url', `https://localhost:${s.port}/`, OTHER_AUDIENCE]));
        assert.notEqual(r.code, 0, r.output);
        assert.ok(r.stdout.includes('401 Unauthorized'), r.output);
        await lineAfter(s.server, mark, WRONG_AUDIENCE_LOG);
        assert.doesNotMatch(outputAfter(s.server, mark), /Request received/);
      });

      it('the go-spiffe client refuses our server when it expects another server ID', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.go('jwt-client', 'client', ['-url', `https://localhost:${s.port}/`, '-server-id', OTHER_ID]));
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, new RegExp(`unexpected ID "${literal(SERVER_ID)}"`));
        assert.equal(outputAfter(s.server, mark), '', 'the token never reached the server');
      });
    });

    describe('jwt: our client → go-spiffe JWT server', () => {
      let s: Started;
      before(async () => {
        s = await serve((port) => env.go('jwt-server', 'server', ['-port', String(port), '-client-id', CLIENT_ID]));
      });
      after(() => s?.server.stop());

      const url = (): Record<string, string> => ({ PROXY_URL: `https://localhost:${s.port}/` });

      it("the go-spiffe server accepts our client's JWT-SVID (jwtsvid.ParseAndValidate)", async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.app('jwt-proxy', 'client', 'client', [], url()));
        assert.equal(r.code, 0, r.output);
        assert.ok(r.stdout.includes('Success!!!'), r.output);
        await lineAfter(s.server, mark, new RegExp(`^Request received from ${literal(CLIENT_ID)}$`));
      });

      it('the go-spiffe server refuses a token of the server identity (wrong subject)', async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.app('jwt-proxy', 'client', 'server', [], url()));
        assert.notEqual(r.code, 0, r.output);
        assert.ok(r.stdout.includes('401 Unauthorized'), r.output);
        await lineAfter(s.server, mark, new RegExp(`^Invalid token: unexpected subject "${literal(SERVER_ID)}"$`));
      });

      it("the go-spiffe server refuses our client's token for another audience", async () => {
        const mark = s.server.lines.length;
        const r = await finish(env.app('jwt-proxy', 'client', 'client', [OTHER_AUDIENCE], url()));
        assert.notEqual(r.code, 0, r.output);
        assert.ok(r.stdout.includes('401 Unauthorized'), r.output);
        await lineAfter(s.server, mark, WRONG_AUDIENCE_LOG);
        assert.doesNotMatch(outputAfter(s.server, mark), /Request received/);
      });
    });

    // ------------------------------------------------------- go-spiffe's Workload API client

    describe('go-spiffe workloadapi.Client against the agent', () => {
      it('fetches X.509 and JWT SVIDs and bundles, validates them, and sees what our client sees', async () => {
        const audience = SERVER_ID;
        const r = await finish(env.go('spiffe-fetch', 'client', ['-audience', audience]));
        assert.equal(r.code, 0, r.output);
        const out = JSON.parse(r.stdout.join('\n')) as FetchOutput;

        // X.509: go-spiffe parsed the SVID (X509-SVID rules, key matches leaf) and x509svid.Verify held.
        assert.equal(out.x509Context.svids.length, 1, r.output);
        const svid = out.x509Context.svids[0]!;
        assert.equal(svid.id, CLIENT_ID);
        assert.equal(svid.verifiedId, CLIENT_ID);
        assert.ok(svid.verifiedChains >= 1);
        assert.equal(svid.leaf.isCA, false);
        assert.deepEqual(svid.leaf.uris, [CLIENT_ID]);
        assert.ok(svid.leaf.keyUsage.includes('digitalSignature'), JSON.stringify(svid.leaf));
        assert.ok(!svid.leaf.keyUsage.includes('keyCertSign') && !svid.leaf.keyUsage.includes('cRLSign'), JSON.stringify(svid.leaf));
        assert.ok(Date.parse(svid.notAfter) > Date.now());
        assert.deepEqual(Object.keys(out.x509Context.bundles), ['example.org']);
        assert.ok(out.x509Context.bundles['example.org']!.length >= 1);
        // FetchX509Bundles agrees with the bundles of FetchX509SVID.
        assert.deepEqual(out.x509Bundles, out.x509Context.bundles);

        // JWT: ParseAndValidate held against the JWT bundles; the agent validates it too.
        assert.equal(out.jwtSvids.length, 1, r.output);
        const jwt = out.jwtSvids[0]!;
        assert.equal(jwt.id, CLIENT_ID);
        assert.deepEqual(jwt.audience, [audience]);
        assert.equal(jwt.validatedLocally.id, CLIENT_ID);
        assert.ok(
          ['sub', 'aud', 'exp'].every((c) => jwt.claimNames.includes(c)),
          jwt.claimNames.join(','),
        );
        assert.ok(
          typeof jwt.header.kid === 'string' && out.jwtBundles['example.org']!.includes(jwt.header.kid),
          JSON.stringify(jwt.header),
        );
        assert.equal(out.validate.id, CLIENT_ID);
        assert.equal(out.validateWrongAudience.code, 'InvalidArgument', out.validateWrongAudience.error);

        // Our client, on the same agent, sees the same bundles and accepts go-spiffe's token.
        const ours = new WorkloadApiClient({ address: `unix://${env.agent.socketPath}`, logger: quietLogger });
        try {
          const x509Bundles = await ours.fetchX509Bundles();
          const ourX509: Record<string, string[]> = {};
          for (const b of x509Bundles.bundles()) ourX509[b.trustDomain.name] = b.authorities().map(fingerprint).sort();
          assert.deepEqual(ourX509, out.x509Bundles);
          const jwtBundles = await ours.fetchJwtBundles();
          const ourJwt: Record<string, string[]> = {};
          for (const b of jwtBundles.bundles()) ourJwt[b.trustDomain.name] = [...b.jwtAuthorities().keys()].sort();
          assert.deepEqual(ourJwt, out.jwtBundles);
          const validated = await parseAndValidateJwtSvid(jwt.token, jwtBundles, [audience]);
          assert.equal(validated.id.toString(), CLIENT_ID);
        } finally {
          ours.close();
        }
      });

      it('gets PermissionDenied "no identity issued" for a caller with no entry', { skip: unregisteredSkip() }, async () => {
        const r = await finish(env.go('spiffe-fetch', 'unregistered'));
        assert.equal(r.code, 1, r.output);
        const out = JSON.parse(r.stdout.join('\n')) as { step: string; code: string; error: string };
        assert.equal(out.step, 'FetchX509Context');
        assert.equal(out.code, 'PermissionDenied');
        assert.match(out.error, /no identity issued/);
      });

      it('receives an X509-SVID rotation on its watch stream', async () => {
        const watch = env.go('spiffe-fetch', 'client', ['-watch-x509', '2']);
        const first = JSON.parse(await watch.waitForLine(/"update":1/, 20_000)) as WatchLine;
        // The dev agent rotates on command; SPIRE has no such command, so the client's entry gets
        // a short X509-SVID TTL: SPIRE's agent issues a new SVID for a changed entry at its next
        // sync (about 5 s), and then renews it at half that TTL.
        const rotation =
          kind === 'dev' ? rotateOnDevAgent(env.agent as DevAgent) : await setClientTtl(env.agent, SPIRE_ROTATION_TTL_SECONDS);
        try {
          const second = JSON.parse(await watch.waitForLine(/"update":2/, kind === 'dev' ? 20_000 : 40_000)) as WatchLine;
          const r = await finish(watch, 10_000);
          assert.equal(r.code, 0, r.output);
          assert.equal(first.id, CLIENT_ID);
          assert.equal(second.id, CLIENT_ID);
          assert.notEqual(second.serial, first.serial, 'the rotated SVID is a new certificate');
          assert.deepEqual(second.bundle, first.bundle);
        } finally {
          // Back to the default TTL, so that no later test depends on SPIRE's renewal timing.
          await rotation.undo();
        }
      });
    });
  });
}

/** The X509-SVID TTL the rotation test gives the client's entry on SPIRE. */
const SPIRE_ROTATION_TTL_SECONDS = 30;

/** `rotate x509` on the dev agent: every SVID is re-minted at once. Nothing to undo. */
function rotateOnDevAgent(dev: DevAgent): { undo: () => Promise<void> } {
  const rotate = spawnSync(
    process.execPath,
    [join(devAgentDir(), 'bin', 'spiffe-dev-agent.js'), 'rotate', 'x509', '-socketPath', dev.adminSocketPath],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(rotate.status, 0, rotate.stdout + rotate.stderr);
  return { undo: async () => {} };
}

/**
 * `spire-server entry update` of the client's entry (the one apps/mtls-echo/register.sh creates)
 * with an X509-SVID TTL of `ttlSeconds`; `undo` puts the entry back without a TTL of its own.
 */
async function setClientTtl(agent: AgentHandle, ttlSeconds: number): Promise<{ undo: () => Promise<void> }> {
  const selector = `unix:user:${CLIENT_USER}`;
  const shown = spawnSync(
    agent.registration.command,
    ['entry', 'show', '-socketPath', agent.registration.socket, '-spiffeID', CLIENT_ID, '-selector', selector],
    {
      encoding: 'utf8',
    },
  );
  const entryId = /^Entry ID\s*:\s*(\S+)/m.exec(shown.stdout)?.[1];
  assert.ok(shown.status === 0 && entryId, `no entry for ${CLIENT_ID} (${selector}):\n${shown.stdout}${shown.stderr}`);
  const update = (ttl: number): void => {
    const r = spawnSync(
      agent.registration.command,
      [
        'entry',
        'update',
        '-socketPath',
        agent.registration.socket,
        '-entryID',
        entryId,
        '-parentID',
        'spiffe://example.org/host',
        '-spiffeID',
        CLIENT_ID,
        '-selector',
        selector,
        '-x509SVIDTTL',
        String(ttl),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `entry update ${entryId} -x509SVIDTTL ${ttl} failed:\n${r.stdout}${r.stderr}`);
  };
  update(ttlSeconds);
  return { undo: async () => update(0) };
}

/** Why the unregistered-caller test cannot run here (it needs another Unix user). */
function unregisteredSkip(): string | false {
  return typeof process.getuid === 'function' && process.getuid() === 0 ? false : 'a caller with no entry is another Unix user: needs root';
}

function fingerprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

interface FetchOutput {
  x509Context: {
    svids: Array<{
      id: string;
      hint: string;
      certificates: string[];
      notAfter: string;
      verifiedChains: number;
      verifiedId: string;
      leaf: { isCA: boolean; keyUsage: string[]; extKeyUsage: string[]; uris: string[]; dnsNames: string[]; publicKeyAlgorithm: string };
    }>;
    bundles: Record<string, string[]>;
  };
  x509Bundles: Record<string, string[]>;
  jwtSvids: Array<{
    id: string;
    hint: string;
    audience: string[];
    expiry: string;
    header: Record<string, unknown>;
    claimNames: string[];
    validatedLocally: { id: string };
    token: string;
  }>;
  jwtBundles: Record<string, string[]>;
  validate: { id: string; claimNames: string[] };
  validateWrongAudience: { code: string; error: string };
}

interface WatchLine {
  update: number;
  id: string;
  serial: string;
  bundle: string[];
}
