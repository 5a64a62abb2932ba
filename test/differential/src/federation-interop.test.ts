/**
 * Federation between the dev agent and a real SPIRE server (v1.13.3), both ways, over the
 * `https_spiffe` profile:
 *
 *   - SPIRE federates with the dev agent's bundle endpoint (`spire-server federation create`
 *     pointing at it): `spire-server bundle list` shows the dev agent's bundle, JWT keys included
 *     (the bootstrap PEM had none), and a key the dev agent rotates in reaches SPIRE on refresh;
 *     with another endpoint SPIFFE ID configured, SPIRE refuses the endpoint.
 *   - The dev agent federates with SPIRE's bundle endpoint: its `bundle list` shows SPIRE's
 *     bundle, a workload whose entry federates with SPIRE's trust domain receives it, and a JWT
 *     authority SPIRE prepares reaches the dev agent.
 *
 * Needs root (as the other differential tests) and SPIRE's binaries (deploy/spire/install.sh).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { devAgentDir, freePort, repoRoot } from '@spiffe-node/harness';
import { TrustDomain, WorkloadApiClient } from '@spiffe-node/spiffe';
import { poll } from '@spiffe-node/test-kit';
import { devSkipReason, spireSkipReason } from './agents.js';

const SPIRE_TD = 'spire-interop.test';
const DEV_TD = 'dev-interop.test';
const SKIP = devSkipReason() ?? spireSkipReason();

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface BundleDoc {
  keys: Array<{ use: string; kid?: string; x5c?: string[] }>;
  spiffe_sequence?: number;
  spiffe_refresh_hint?: number;
}

const roots = (doc: BundleDoc): string[] =>
  doc.keys
    .filter((k) => k.use === 'x509-svid')
    .map((k) => new X509Certificate(Buffer.from(k.x5c![0]!, 'base64')).fingerprint256)
    .sort();
const kids = (doc: BundleDoc): string[] =>
  doc.keys
    .filter((k) => k.use === 'jwt-svid')
    .map((k) => k.kid!)
    .sort();

describe('federation between the dev agent and SPIRE', { skip: SKIP ?? false }, () => {
  let dir: string;
  let spire: ChildProcess | undefined;
  let dev: ChildProcess | undefined;
  let devLog = '';
  let spireLog = '';
  let spireEndpoint = '';
  let devEndpoint = '';
  const spireBin = join(repoRoot(), '.spire', 'bin', 'spire-server');
  const devCli = join(devAgentDir(), 'bin', 'spire-server');
  const spireSocket = (): string => join(dir, 'spire', 'api.sock');
  const devAdmin = (): string => join(dir, 'dev', 'private', 'admin.sock');
  /** `spire-server <words...> -socketPath <socket> <flags...>`: the words are those before the first flag. */
  const spireCli = (...args: string[]): Result => {
    const words = args.slice(
      0,
      Math.max(
        0,
        args.findIndex((a) => a.startsWith('-')),
      ) || args.length,
    );
    const flags = args.slice(words.length);
    const r = spawnSync(spireBin, [...words, '-socketPath', spireSocket(), ...flags], { encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const devServerCli = (...args: string[]): Result => {
    const [group, sub, ...rest] = args;
    const r = spawnSync(devCli, [group!, ...(sub === undefined ? [] : [sub]), '-socketPath', devAdmin(), ...rest], { encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (r: Result, what: string): string => {
    assert.equal(
      r.code,
      0,
      `${what} failed:\n${r.stdout}${r.stderr}\ndev agent log:\n${devLog.slice(-3000)}\nSPIRE log:\n${spireLog.slice(-3000)}`,
    );
    return r.stdout;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'differential-federation-interop-'));
    const [serverPort, spireBundlePort, devBundlePort] = [await freePort(), await freePort(), await freePort()];
    spireEndpoint = `https://127.0.0.1:${spireBundlePort}`;
    devEndpoint = `https://127.0.0.1:${devBundlePort}`;
    const conf = join(dir, 'server.conf');
    writeFileSync(
      conf,
      `server {
    trust_domain = "${SPIRE_TD}"
    bind_address = "127.0.0.1"
    bind_port = "${serverPort}"
    socket_path = "${spireSocket()}"
    data_dir = "${join(dir, 'spire', 'data')}"
    log_level = "INFO"
    ca_ttl = "168h"
    federation {
        bundle_endpoint {
            address = "127.0.0.1"
            port = ${spireBundlePort}
        }
    }
}
plugins {
    DataStore "sql" {
        plugin_data {
            database_type = "sqlite3"
            connection_string = "${join(dir, 'spire', 'data', 'datastore.sqlite3')}"
        }
    }
    NodeAttestor "join_token" {
        plugin_data {}
    }
    KeyManager "memory" {
        plugin_data {}
    }
}
`,
    );
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPIRE_') && !k.startsWith('SPIFFE_')));
    spire = spawn(spireBin, ['run', '-config', conf], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    spire.stdout?.on('data', (c: Buffer) => (spireLog = (spireLog + c.toString()).slice(-20_000)));
    spire.stderr?.on('data', (c: Buffer) => (spireLog = (spireLog + c.toString()).slice(-20_000)));
    dev = spawn(
      process.execPath,
      [
        join(devAgentDir(), 'bin', 'spiffe-dev-agent.js'),
        'run',
        '-socketPath',
        join(dir, 'dev', 'public', 'api.sock'),
        '-adminSocketPath',
        devAdmin(),
        '-dataDir',
        join(dir, 'dev', 'data'),
        '-trustDomain',
        DEV_TD,
        '-bundleEndpointAddress',
        '127.0.0.1',
        '-bundleEndpointPort',
        String(devBundlePort),
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    dev.stdout?.on('data', (c: Buffer) => (devLog = (devLog + c.toString()).slice(-20_000)));
    dev.stderr?.on('data', (c: Buffer) => (devLog = (devLog + c.toString()).slice(-20_000)));
    await poll(
      'spire-server is not healthy',
      () => spireCli('healthcheck').code,
      (c) => c === 0,
    );
    await poll(
      'the dev agent is not healthy',
      () => devServerCli('healthcheck').code,
      (c) => c === 0,
    );
    const announced = new RegExp(
      `Bundle endpoint: +${devEndpoint.replace(/\./g, '\\.')} \\(https_spiffe, spiffe://${DEV_TD}/spire/server\\)`,
    );
    await poll(
      'the dev agent did not announce its bundle endpoint',
      () => devLog,
      (log) => announced.test(log),
    );
  });

  after(async () => {
    for (const child of [dev, spire]) {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("SPIRE federates with the dev agent's bundle endpoint: bundle list shows the dev agent's bundle, and follows its rotation", async () => {
    const devPem = join(dir, 'dev.pem');
    writeFileSync(devPem, ok(devServerCli('bundle', 'show'), 'dev bundle show'));
    const devDoc = JSON.parse(ok(devServerCli('bundle', 'show', '-format', 'spiffe'), 'dev bundle show -format spiffe')) as BundleDoc;
    assert.equal(ok(spireCli('bundle', 'set', '-id', `spiffe://${DEV_TD}`, '-path', devPem), 'spire bundle set'), 'bundle set.\n');

    // With another endpoint SPIFFE ID configured, SPIRE refuses the dev agent's endpoint.
    const wrongId = [
      '-trustDomain',
      DEV_TD,
      '-bundleEndpointURL',
      devEndpoint,
      '-bundleEndpointProfile',
      'https_spiffe',
      '-endpointSpiffeID',
      `spiffe://${DEV_TD}/not-the-server`,
    ];
    ok(spireCli('federation', 'create', ...wrongId), 'spire federation create');
    const refused = spireCli('federation', 'refresh', '-id', DEV_TD);
    assert.equal(refused.code, 1, 'SPIRE accepted an endpoint that presents another SPIFFE ID');
    assert.match(refused.stderr, /failed to refresh bundle/);
    assert.deepEqual(
      kids(JSON.parse(ok(spireCli('bundle', 'list', '-id', `spiffe://${DEV_TD}`, '-format', 'spiffe'), 'spire bundle list')) as BundleDoc),
      [],
    );

    const right = [
      '-trustDomain',
      DEV_TD,
      '-bundleEndpointURL',
      devEndpoint,
      '-bundleEndpointProfile',
      'https_spiffe',
      '-endpointSpiffeID',
      `spiffe://${DEV_TD}/spire/server`,
    ];
    ok(spireCli('federation', 'update', ...right), 'spire federation update');
    assert.equal(ok(spireCli('federation', 'refresh', '-id', DEV_TD), 'spire federation refresh'), 'Bundle refreshed\n');
    const listed = ok(spireCli('bundle', 'list', '-format', 'spiffe'), 'spire bundle list');
    assert.match(listed, new RegExp(`^\\*{40}\\n\\* ${DEV_TD.replace(/\./g, '\\.')}\\n\\*{40}\\n\\{`));
    const fetched = JSON.parse(
      ok(spireCli('bundle', 'list', '-id', `spiffe://${DEV_TD}`, '-format', 'spiffe'), 'spire bundle list -id'),
    ) as BundleDoc;
    assert.deepEqual(roots(fetched), roots(devDoc));
    assert.deepEqual(kids(fetched), kids(devDoc), "SPIRE holds the dev agent's JWT keys: the bundle came from the endpoint, not the PEM");
    assert.equal(fetched.spiffe_refresh_hint, 300);

    // The dev agent rotates its JWT key; SPIRE's next fetch brings it.
    const rotated = spawnSync(
      process.execPath,
      [join(devAgentDir(), 'bin', 'spiffe-dev-agent.js'), 'rotate', 'jwt', '-socketPath', devAdmin()],
      { encoding: 'utf8' },
    );
    assert.equal(rotated.status, 0, rotated.stderr);
    const devKids = kids(JSON.parse(ok(devServerCli('bundle', 'show', '-format', 'spiffe'), 'dev bundle show')) as BundleDoc);
    assert.equal(devKids.length, kids(devDoc).length + 1);
    ok(spireCli('federation', 'refresh', '-id', DEV_TD), 'spire federation refresh');
    assert.deepEqual(
      kids(
        JSON.parse(ok(spireCli('bundle', 'list', '-id', `spiffe://${DEV_TD}`, '-format', 'spiffe'), 'spire bundle list -id')) as BundleDoc,
      ),
      devKids,
    );
  });

  it("the dev agent federates with SPIRE's bundle endpoint: its workloads receive SPIRE's bundle, and a prepared JWT authority", async () => {
    const spirePem = join(dir, 'spire.pem');
    writeFileSync(spirePem, ok(spireCli('bundle', 'show'), 'spire bundle show'));
    const spireDoc = (): BundleDoc => JSON.parse(ok(spireCli('bundle', 'show', '-format', 'spiffe'), 'spire bundle show')) as BundleDoc;
    ok(devServerCli('bundle', 'set', '-id', `spiffe://${SPIRE_TD}`, '-path', spirePem), 'dev bundle set');
    const created = ok(
      devServerCli(
        'federation',
        'create',
        '-trustDomain',
        SPIRE_TD,
        '-bundleEndpointURL',
        spireEndpoint,
        '-bundleEndpointProfile',
        'https_spiffe',
        '-endpointSpiffeID',
        `spiffe://${SPIRE_TD}/spire/server`,
      ),
      'dev federation create',
    );
    assert.match(created, new RegExp(`^\\nTrust domain {14}: ${SPIRE_TD.replace(/\./g, '\\.')}\\n`));
    const devListed = (): BundleDoc =>
      JSON.parse(
        ok(devServerCli('bundle', 'list', '-id', `spiffe://${SPIRE_TD}`, '-format', 'spiffe'), 'dev bundle list -id'),
      ) as BundleDoc;
    // The watcher's first fetch brings SPIRE's JWT keys (the PEM had none).
    const fetched = await poll("SPIRE's bundle did not reach the dev agent", devListed, (d) => kids(d).length > 0);
    assert.deepEqual(roots(fetched), roots(spireDoc()));
    assert.deepEqual(kids(fetched), kids(spireDoc()));

    const entry = ok(
      devServerCli(
        'entry',
        'create',
        '-parentID',
        `spiffe://${DEV_TD}/host`,
        '-spiffeID',
        `spiffe://${DEV_TD}/federated-client`,
        '-selector',
        `unix:uid:${process.getuid!()}`,
        '-federatesWith',
        `spiffe://${SPIRE_TD}`,
      ),
      'dev entry create',
    );
    assert.match(entry, new RegExp(`\\nFederatesWith {4}: ${SPIRE_TD.replace(/\./g, '\\.')}\\n`));
    const client = new WorkloadApiClient({
      address: `unix://${join(dir, 'dev', 'public', 'api.sock')}`,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    try {
      const ctx = await client.fetchX509Context();
      const served = ctx.bundles
        .getX509BundleForTrustDomain(TrustDomain.fromString(SPIRE_TD))
        .authorities()
        .map((c) => c.fingerprint256)
        .sort();
      assert.deepEqual(served, roots(spireDoc()));

      // SPIRE prepares a JWT authority: it is published in SPIRE's bundle, and reaches the dev agent's workloads.
      ok(spireCli('localauthority', 'jwt', 'prepare'), 'spire localauthority jwt prepare');
      const spireKids = await poll(
        'the prepared JWT authority is not in SPIRE bundle',
        () => kids(spireDoc()),
        (k) => k.length === kids(fetched).length + 1,
      );
      ok(devServerCli('federation', 'refresh', '-id', SPIRE_TD), 'dev federation refresh');
      const workloadKids = [
        ...(await client.fetchJwtBundles()).getJwtBundleForTrustDomain(TrustDomain.fromString(SPIRE_TD)).jwtAuthorities().keys(),
      ].sort();
      assert.deepEqual(workloadKids, spireKids);
    } finally {
      client.close();
    }
  });
});
