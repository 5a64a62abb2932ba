/**
 * Federation between two development agents, through the `spire-server`-compatible CLI: A serves
 * its bundle endpoint (https_spiffe, spiffe://example.org/spire/server); B federates with it
 * (`bundle set` for the bootstrap bundle, `federation create`), fetches A's bundle through the
 * library's watcher, hands it to workloads whose entries federate with A, and follows A's key
 * rotation. An endpoint that presents another SPIFFE ID, or one B has no bundle to verify with,
 * gives nothing. Every command's output and errors are SPIRE's (see test/differential).
 */
import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TrustDomain } from '@spiffe-node/spiffe/spiffeid';
import { WorkloadApiClient } from '@spiffe-node/spiffe/workloadapi';
import { startDevAgent, type DevAgent } from '../index.js';
import { runServerCommand } from '../cli/server-command.js';
import { poll } from '@spiffe-node/test-kit';
import { tempDir } from '../testing/agent-process.js';

const quiet = { log() {} };
const A_ENDPOINT_ID = 'spiffe://example.org/spire/server';

describe('federation between two dev agents', () => {
  const dir = tempDir('sda-fed-');
  let a: DevAgent;
  let b: DevAgent;
  const cli = async (args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const code = await runServerCommand(args, {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      readStdin: () => stdin,
      env: { SPIFFE_DEV_AGENT_ADMIN_SOCKET: b.adminSocketPath },
    });
    return { code, stdout, stderr };
  };
  const aPem = join(dir.path, 'a.pem');

  before(async () => {
    a = await startDevAgent({
      socketPath: join(dir.path, 'a', 'api.sock'),
      adminSocketPath: join(dir.path, 'a-admin', 'admin.sock'),
      dataDir: join(dir.path, 'a-data'),
      trustDomain: 'example.org',
      bundleEndpoint: { address: '127.0.0.1', port: 0 },
      logger: quiet,
    });
    b = await startDevAgent({
      socketPath: join(dir.path, 'b', 'api.sock'),
      adminSocketPath: join(dir.path, 'b-admin', 'admin.sock'),
      dataDir: join(dir.path, 'b-data'),
      trustDomain: 'partner.org',
      federatedTrustDomains: ['local.org'],
      logger: {
        log: (level, msg, fields) => {
          if (process.env.DEBUG_FED) console.error(level, msg, JSON.stringify(fields));
        },
      },
    });
    writeFileSync(aPem, a.bundlePem());
  });

  after(async () => {
    await b?.stop();
    await a?.stop();
    dir.remove();
  });

  it('serves its bundle endpoint with the SVID SPIRE presents', () => {
    assert.ok(a.bundleEndpoint, 'A serves a bundle endpoint');
    assert.match(a.bundleEndpoint.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(a.bundleEndpoint.spiffeId, A_ENDPOINT_ID);
    assert.equal(b.bundleEndpoint, undefined, 'off unless asked for');
  });

  it('refuses relationships SPIRE refuses, with its messages', async () => {
    const own = await cli([
      'federation',
      'create',
      '-trustDomain',
      'partner.org',
      '-bundleEndpointURL',
      'https://x',
      '-bundleEndpointProfile',
      'https_web',
    ]);
    assert.equal(own.code, 1);
    assert.equal(own.stdout, '\n');
    assert.equal(
      own.stderr,
      'Failed to create the following federation relationship (code: InvalidArgument, msg: "unable to create federation relationship for server trust domain"):\n' +
        'Trust domain              : partner.org\nBundle endpoint URL       : https://x\nBundle endpoint profile   : https_web\n' +
        'Error: failed to create one or more federation relationships\n',
    );
    const http = await cli([
      'federation',
      'create',
      '-trustDomain',
      'other.org',
      '-bundleEndpointURL',
      'http://x',
      '-bundleEndpointProfile',
      'https_web',
    ]);
    assert.equal(http.code, 1);
    assert.match(
      http.stderr,
      /code: InvalidArgument, msg: "failed to convert federation relationship: bundle endpoint URL must use the https scheme"/,
    );
    const noId = await cli([
      'federation',
      'create',
      '-trustDomain',
      'other.org',
      '-bundleEndpointURL',
      'https://x',
      '-bundleEndpointProfile',
      'https_spiffe',
    ]);
    assert.deepEqual(noId, {
      code: 1,
      stdout: '',
      stderr: "Error: endpoint SPIFFE ID is required if 'https_spiffe' endpoint profile is set\n",
    });
    const profile = await cli(['federation', 'create', '-trustDomain', 'other.org', '-bundleEndpointURL', 'https://x']);
    assert.deepEqual(profile, { code: 1, stdout: '', stderr: 'Error: unknown bundle endpoint profile type: ""\n' });
    const show = await cli(['federation', 'show', '-trustDomain', 'other.org']);
    assert.deepEqual(show, {
      code: 1,
      stdout: '',
      stderr: 'Error: error showing federation relationship: rpc error: code = NotFound desc = federation relationship does not exist\n',
    });
    const setOwn = await cli(['bundle', 'set', '-id', 'spiffe://partner.org', '-path', aPem]);
    assert.deepEqual(setOwn, {
      code: 1,
      stdout: '',
      stderr: "Error: failed to set federated bundle: setting a federated bundle for the server's own trust domain is not allowed\n",
    });
    assert.deepEqual(await cli(['federation', 'list']), { code: 0, stdout: 'Found 0 federation relationships\n', stderr: '' });
  });

  it('fetches nothing from an endpoint it has no bundle to verify with, or that presents another ID', async () => {
    const created = await cli([
      'federation',
      'create',
      '-trustDomain',
      'example.org',
      '-bundleEndpointURL',
      a.bundleEndpoint!.url,
      '-bundleEndpointProfile',
      'https_spiffe',
      '-endpointSpiffeID',
      'spiffe://example.org/not-the-server',
      '-trustDomainBundlePath',
      aPem,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const wrongId = await cli(['federation', 'refresh', '-id', 'example.org']);
    assert.equal(wrongId.code, 1);
    assert.match(
      wrongId.stderr,
      /^Error: failed to refresh bundle: rpc error: code = Internal desc = failed to refresh bundle: failed to fetch federated bundle from endpoint: .*not-the-server/,
    );
    assert.equal((await cli(['federation', 'delete', '-id', 'example.org'])).stdout, 'federation relationship deleted.\n');
    assert.equal((await cli(['bundle', 'delete', '-id', 'spiffe://example.org'])).stdout, 'bundle deleted.\n');

    // No bootstrap bundle: the endpoint's certificate cannot be verified, nothing is stored.
    const bare = await cli([
      'federation',
      'create',
      '-trustDomain',
      'example.org',
      '-bundleEndpointURL',
      a.bundleEndpoint!.url,
      '-bundleEndpointProfile',
      'https_spiffe',
      '-endpointSpiffeID',
      A_ENDPOINT_ID,
    ]);
    assert.equal(bare.code, 0, bare.stderr);
    const unverified = await cli(['federation', 'refresh', '-id', 'spiffe://example.org']);
    assert.equal(unverified.code, 1);
    assert.match(unverified.stderr, /no bundle of "example\.org"/);
    assert.deepEqual(await cli(['bundle', 'list', '-id', 'spiffe://example.org']), {
      code: 1,
      stdout: '',
      stderr: 'Error: rpc error: code = NotFound desc = bundle not found\n',
    });
    assert.equal((await cli(['federation', 'delete', '-id', 'example.org'])).code, 0);
    const gone = await cli(['federation', 'delete', '-id', 'example.org']);
    assert.deepEqual(gone, {
      code: 1,
      stdout: '',
      stderr: 'Error: failed to delete federation relationship "example.org": federation relationship not found\n',
    });
  });

  it("federates with A's endpoint: fetches its bundle, serves it to federating entries, follows A's rotation", async () => {
    const set = await cli(['bundle', 'set', '-id', 'spiffe://example.org', '-path', aPem]);
    assert.deepEqual(set, { code: 0, stdout: 'bundle set.\n', stderr: '' });
    const created = await cli([
      'federation',
      'create',
      '-trustDomain',
      'example.org',
      '-bundleEndpointURL',
      a.bundleEndpoint!.url,
      '-bundleEndpointProfile',
      'https_spiffe',
      '-endpointSpiffeID',
      A_ENDPOINT_ID,
    ]);
    const block =
      'Trust domain              : example.org\n' +
      `Bundle endpoint URL       : ${a.bundleEndpoint!.url}\n` +
      'Bundle endpoint profile   : https_spiffe\n' +
      `Endpoint SPIFFE ID        : ${A_ENDPOINT_ID}\n`;
    assert.deepEqual(created, { code: 0, stdout: `\n${block}`, stderr: '' });
    assert.deepEqual(await cli(['federation', 'list']), { code: 0, stdout: `Found 1 federation relationship\n\n${block}`, stderr: '' });
    assert.deepEqual(await cli(['federation', 'show', '-trustDomain', 'example.org']), {
      code: 0,
      stdout: `Found a federation relationship with trust domain example.org:\n\n${block}`,
      stderr: '',
    });

    // The watcher fetches A's bundle document: its JWT keys and sequence number arrive (the PEM had neither).
    const fetched = await poll(
      "A's bundle document was not fetched",
      async () =>
        JSON.parse((await cli(['bundle', 'list', '-id', 'spiffe://example.org', '-format', 'spiffe'])).stdout) as {
          keys: Array<{ use: string; kid?: string; x5c?: string[] }>;
          spiffe_sequence?: number;
          spiffe_refresh_hint?: number;
        },
      (doc) => doc.keys.some((k) => k.use === 'jwt-svid'),
    );
    assert.equal(fetched.spiffe_refresh_hint, 300);
    assert.ok((fetched.spiffe_sequence ?? 0) >= 1);
    const roots = fetched.keys
      .filter((k) => k.use === 'x509-svid')
      .map((k) => new X509Certificate(Buffer.from(k.x5c![0]!, 'base64')).toString());
    assert.deepEqual(roots, [a.bundlePem()]);
    assert.deepEqual(await cli(['federation', 'refresh', '-id', 'example.org']), { code: 0, stdout: 'Bundle refreshed\n', stderr: '' });
    assert.deepEqual(await cli(['bundle', 'count']), { code: 0, stdout: '3 bundles\n', stderr: '' });
    const listed = await cli(['bundle', 'list']);
    assert.match(
      listed.stdout,
      /^\*{40}\n\* example\.org\n\*{40}\n-----BEGIN CERTIFICATE-----\n[^]*-----END CERTIFICATE-----\n\n\*{40}\n\* local\.org\n\*{40}\n-----BEGIN CERTIFICATE-----\n[^]*-----END CERTIFICATE-----\n$/,
    );

    // A workload of B whose entry federates with example.org receives A's bundle.
    const entry = await cli([
      'entry',
      'create',
      '-parentID',
      'spiffe://partner.org/host',
      '-spiffeID',
      'spiffe://partner.org/client',
      '-selector',
      `unix:uid:${process.getuid!()}`,
      '-federatesWith',
      'spiffe://example.org',
    ]);
    assert.equal(entry.code, 0, entry.stderr);
    assert.match(entry.stdout, /\nFederatesWith {4}: example\.org\n/);
    const client = new WorkloadApiClient({ address: b.endpoint, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    try {
      const ctx = await client.fetchX509Context();
      const served = ctx.bundles
        .getX509BundleForTrustDomain(TrustDomain.fromString('example.org'))
        .authorities()
        .map((c) => c.toString());
      assert.deepEqual(served, [a.bundlePem()]);
      const kidsBefore = [
        ...(await client.fetchJwtBundles()).getJwtBundleForTrustDomain(TrustDomain.fromString('example.org')).jwtAuthorities().keys(),
      ];

      // While an entry federates with it, the bundle stays.
      const inUse = await cli(['bundle', 'delete', '-id', 'spiffe://example.org']);
      assert.deepEqual(inUse, {
        code: 1,
        stdout: '',
        stderr:
          'Error: failed to delete federated bundle "spiffe://example.org": failed to delete federated bundle: cannot delete bundle; federated with 1 registration entries\n',
      });

      // A rotates its JWT key; a refresh brings the new key to B's workloads.
      await a.rotateJwtKeys();
      assert.equal((await cli(['federation', 'refresh', '-id', 'example.org'])).code, 0);
      const kidsAfter = await poll(
        "A's new JWT key did not reach B's workload",
        async () => [
          ...(await client.fetchJwtBundles()).getJwtBundleForTrustDomain(TrustDomain.fromString('example.org')).jwtAuthorities().keys(),
        ],
        (kids) => kids.length > kidsBefore.length,
      );
      assert.ok(kidsBefore.every((k) => kidsAfter.includes(k)));
    } finally {
      client.close();
    }
  });
});
