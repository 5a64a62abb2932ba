// `spiffe helper` as a real process against the fake Workload API agent, with real child
// processes: rotations rewrite the files so that key and certificate never disagree on disk,
// the child gets renew_signal, JWT-SVIDs are refreshed before half their lifetime, one-shot
// mode, health checks, pid files, configuration errors.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, renameSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  FakeAgent,
  TestCa,
  delay,
  jwksBytes,
  spawnCli,
  runCli,
  start,
  tempDir,
  until,
  x509SvidMessage,
  type TestSvid,
} from '../testing/fixtures.js';
import { CONSISTENCY_READER, SIGNAL_RECORDER, writeScript } from '../testing/scripts.js';

const example = TestCa.create({ trustDomain: 'example.org' });
const partner = TestCa.create({ trustDomain: 'partner.org' });
const jwtKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let agent: FakeAgent;
let dir: ReturnType<typeof tempDir>;

function x509Config(extra = ''): string {
  return `agent_address = "${agent.socketPath}"
cert_dir = "certs"
svid_file_name = "svid.pem"
svid_key_file_name = "svid_key.pem"
svid_bundle_file_name = "svid_bundle.pem"
${extra}`;
}

function writeConfig(text: string): string {
  const path = join(dir.path, 'helper.conf');
  writeFileSync(path, text);
  return path;
}

function serve(svid: TestSvid): void {
  agent.setX509SvidResponse({
    svids: [x509SvidMessage(svid, [example.certificate])],
    federated_bundles: { 'spiffe://partner.org': partner.der },
  });
}

function leafOnDisk(): string | undefined {
  try {
    return new X509Certificate(readFileSync(join(dir.path, 'certs', 'svid.pem'))).fingerprint256;
  } catch {
    return undefined;
  }
}

function lines(file: string): string[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

beforeEach(async () => {
  agent = await FakeAgent.start();
  dir = tempDir('spiffe-helper-');
});

afterEach(async () => {
  await agent.close();
  dir.remove();
});

describe('spiffe helper (daemon)', () => {
  it('rewrites the files on every rotation with no moment where key and certificate disagree, and signals the child', async () => {
    const childLog = join(dir.path, 'child.log');
    const recorder = writeScript(dir.path, 'recorder.mjs', SIGNAL_RECORDER);
    serve(example.svid('/web'));
    writeConfig(x509Config(`cmd = "${process.execPath}"\ncmd_args = "${recorder} ${childLog}"\nrenew_signal = "SIGUSR1"\n`));
    const helper = spawnCli(['helper', '-config', 'helper.conf'], { cwd: dir.path });
    let reader: ReturnType<typeof start> | undefined;
    try {
      await until(() => lines(childLog).some((l) => l.startsWith('started ')), 15_000, 'the child to start');
      const certs = join(dir.path, 'certs');
      // The layout: each name is a link through ..data into one generation directory.
      assert.equal(readlinkSync(join(certs, 'svid.pem')), join('..data', 'svid.pem'));
      assert.ok(lstatSync(join(certs, '..data')).isSymbolicLink());
      assert.equal(statSync(join(certs, 'svid_key.pem')).mode & 0o777, 0o600);
      assert.equal(statSync(join(certs, 'svid.pem')).mode & 0o777, 0o644);
      assert.equal(statSync(join(certs, 'svid_bundle.pem')).mode & 0o777, 0o644);

      reader = start(process.execPath, [
        writeScript(dir.path, 'reader.mjs', CONSISTENCY_READER),
        join(certs, 'svid.pem'),
        join(certs, 'svid_key.pem'),
      ]);
      await reader.waitFor(/reading/);
      const rotations = 15;
      let last: TestSvid | undefined;
      for (let i = 0; i < rotations; i++) {
        last = example.svid('/web');
        serve(last);
        const expected = last.leaf.fingerprint256;
        await until(() => leafOnDisk() === expected, 5000, `rotation ${i + 1} on disk`);
        // Standard signals are not queued: two SIGUSR1 sent before the child handles the first
        // arrive as one. Wait for the child to see this rotation's signal before the next one.
        await until(() => lines(childLog).filter((l) => l === 'SIGUSR1').length === i + 1, 5000, `the SIGUSR1 of rotation ${i + 1}`);
      }
      const report = JSON.parse((await reader.stop('SIGTERM')).stdout.trim().split('\n').pop() as string) as {
        checks: number;
        bad: number;
        errors: number;
        distinct: number;
      };
      reader = undefined;
      assert.equal(report.bad, 0, `key and certificate disagreed on disk ${report.bad} times in ${report.checks} checks`);
      assert.equal(report.errors, 0);
      assert.ok(report.checks > 100, `only ${report.checks} checks`);
      assert.ok(report.distinct >= rotations / 2, `the reader saw ${report.distinct} certificates: it did not race with the rotations`);

      await until(() => lines(childLog).filter((l) => l === 'SIGUSR1').length === rotations, 5000, 'one SIGUSR1 per rotation');
      assert.equal(lines(childLog).filter((l) => l.startsWith('started ')).length, 1, 'cmd is started once');
      // Only the current generation is kept.
      assert.equal(readdirSync(certs).filter((n) => n.startsWith('..2')).length, 1);
      // The files hold what spiffe-helper writes: chain, PKCS#8 key, bundle of the SVID's own trust domain.
      assert.ok(
        new X509Certificate(readFileSync(join(certs, 'svid.pem'))).checkPrivateKey(
          createPrivateKey(readFileSync(join(certs, 'svid_key.pem'))),
        ),
      );
      assert.equal(new X509Certificate(readFileSync(join(certs, 'svid_bundle.pem'))).fingerprint256, example.certificate.fingerprint256);
      assert.equal(last?.leaf.fingerprint256, leafOnDisk());
    } finally {
      await reader?.stop('SIGTERM');
      const result = await helper.stop('SIGTERM');
      assert.equal(result.code, 0, result.stderr);
    }
    // Stopping the helper stops its child.
    assert.equal(lines(childLog).at(-1), 'TERM');
  });

  it('the consistency reader does catch a writer that replaces certificate and key one after the other', async () => {
    // The control for the check above: plain sequential renames leave moments of disagreement.
    const certs = join(dir.path, 'plain');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(certs);
    const put = (name: string, data: string): void => {
      writeFileSync(join(certs, `${name}.tmp`), data);
      renameSync(join(certs, `${name}.tmp`), join(certs, name));
    };
    const first = example.svid('/web');
    put('svid.pem', first.certPem);
    put('svid_key.pem', first.keyPem);
    const reader = start(process.execPath, [
      writeScript(dir.path, 'reader.mjs', CONSISTENCY_READER),
      join(certs, 'svid.pem'),
      join(certs, 'svid_key.pem'),
    ]);
    await reader.waitFor(/reading/);
    for (let i = 0; i < 200; i++) {
      const next = example.svid('/web');
      put('svid.pem', next.certPem);
      await delay(2);
      put('svid_key.pem', next.keyPem);
      await delay(1);
    }
    const report = JSON.parse((await reader.stop('SIGTERM')).stdout.trim().split('\n').pop() as string) as { bad: number };
    assert.ok(report.bad > 0, 'the reader saw no disagreement');
  });

  it('refreshes a JWT-SVID before half its lifetime, and writes the JWT bundle file', async () => {
    agent.setJwtIssuer({ ids: ['spiffe://example.org/web'], key: jwtKey.privateKey, kid: 'k1', ttlSeconds: 10 });
    agent.setJwtBundlesResponse({ bundles: { 'spiffe://example.org': jwksBytes(new Map([['k1', jwtKey.publicKey]])) } });
    writeConfig(`agent_address = "unix://${agent.socketPath}"
cert_dir = "${join(dir.path, 'certs')}"
jwt_svids = [{jwt_audience = "spiffe://example.org/db", jwt_extra_audiences = ["other"], jwt_svid_file_name = "db.token"}]
jwt_bundle_file_name = "jwt_bundle.json"
`);
    const helper = spawnCli(['helper', '-config', 'helper.conf'], { cwd: dir.path });
    const tokenFile = join(dir.path, 'certs', 'db.token');
    const claimsOf = (token: string): { aud: string[]; iat: number; exp: number } =>
      JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());
    try {
      await until(() => existsSync(tokenFile), 15_000, 'the token file');
      const first = readFileSync(tokenFile, 'utf8');
      const claims = claimsOf(first);
      assert.deepEqual(claims.aud, ['spiffe://example.org/db', 'other']);
      assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
      const halfLife = (claims.iat + (claims.exp - claims.iat) / 2) * 1000;
      await until(() => readFileSync(tokenFile, 'utf8') !== first, 8000, 'a new token');
      const refreshedAt = Date.now();
      assert.ok(refreshedAt < halfLife, `refreshed ${refreshedAt - halfLife} ms after half the lifetime`);
      assert.ok(claimsOf(readFileSync(tokenFile, 'utf8')).exp > claims.exp);

      const bundleFile = JSON.parse(readFileSync(join(dir.path, 'certs', 'jwt_bundle.json'), 'utf8')) as Record<string, string>;
      assert.deepEqual(Object.keys(bundleFile), ['example.org']);
      const jwks = JSON.parse(Buffer.from(bundleFile['example.org'] as string, 'base64').toString()) as { keys: Array<{ kid: string }> };
      assert.equal(jwks.keys[0]?.kid, 'k1');
    } finally {
      const result = await helper.stop('SIGTERM');
      assert.equal(result.code, 0, result.stderr);
    }
  });

  it('answers the health checks: ready only once every file is written, live while no write failed', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    writeConfig(x509Config(`health_checks {\n  listener_enabled = true\n  bind_address = "127.0.0.1"\n  bind_port = ${port}\n}\n`));
    const helper = spawnCli(['helper', '-config', 'helper.conf'], { cwd: dir.path });
    try {
      await helper.waitFor(/Health checks listening/, 15_000, 'stderr');
      // No identity yet (the agent answers PermissionDenied): alive, not ready.
      const notReady = await httpGet(port, '/ready');
      assert.equal(notReady.status, 503);
      assert.deepEqual(JSON.parse(notReady.body), {
        status: 'Service Unavailable',
        health: { file_write_statuses: { x509_write_status: 'unwritten', jwt_write_status: {} } },
      });
      assert.equal((await httpGet(port, '/live')).status, 200);
      assert.equal((await httpGet(port, '/other')).status, 404);
      serve(example.svid('/web'));
      await until(async () => (await httpGet(port, '/ready')).status === 200, 10_000, 'ready');
      assert.equal(JSON.parse((await httpGet(port, '/ready')).body).status, 'OK');
    } finally {
      await helper.stop('SIGTERM');
    }
  });

  it('signals the process named by pid_file_name on each rotation', async () => {
    const log = join(dir.path, 'other.log');
    const pidFile = join(dir.path, 'other.pid');
    const other = start(process.execPath, [writeScript(dir.path, 'recorder.mjs', SIGNAL_RECORDER), log, pidFile]);
    await until(() => existsSync(pidFile) && lines(log).length > 0, 10_000, 'the other process');
    serve(example.svid('/web'));
    writeConfig(x509Config(`pid_file_name = "other.pid"\nrenew_signal = "SIGHUP"\n`));
    const helper = spawnCli(['helper', '-config', 'helper.conf'], { cwd: dir.path });
    try {
      await until(() => lines(log).includes('SIGHUP'), 15_000, 'the first SIGHUP');
      serve(example.svid('/web'));
      await until(() => lines(log).filter((l) => l === 'SIGHUP').length === 2, 5000, 'a SIGHUP after the rotation');
    } finally {
      await helper.stop('SIGTERM');
      await other.stop('SIGTERM');
    }
  });

  it('starts cmd again at the next update after it exited', async () => {
    const marker = join(dir.path, 'runs.log');
    // A cmd that records its start and exits at once.
    const once = writeScript(dir.path, 'once.mjs', `import { appendFileSync } from 'node:fs'; appendFileSync(process.argv[2], 'run\\n');`);
    serve(example.svid('/web'));
    writeConfig(x509Config(`cmd = "${process.execPath}"\ncmd_args = "${once} ${marker}"\nrenew_signal = "SIGUSR1"\n`));
    const helper = spawnCli(['helper', '-config', 'helper.conf'], { cwd: dir.path });
    try {
      await until(() => lines(marker).length === 1, 15_000, 'the first run');
      await helper.waitFor(/cmd .* exited \(code 0\)/, 5000, 'stderr');
      serve(example.svid('/web'));
      await until(() => lines(marker).length === 2, 5000, 'the second run');
    } finally {
      await helper.stop('SIGTERM');
    }
  });
});

describe('spiffe helper (one shot and errors)', () => {
  it('with daemon_mode = false writes every file once and exits 0', async () => {
    serve(example.intermediate().svid('/web'));
    agent.setJwtIssuer({ ids: ['spiffe://example.org/web'], key: jwtKey.privateKey, kid: 'k1' });
    agent.setJwtBundlesResponse({ bundles: { 'spiffe://example.org': jwksBytes(new Map([['k1', jwtKey.publicKey]])) } });
    writeConfig(
      x509Config(
        `daemon_mode = false\ninclude_federated_domains = true\nadd_intermediates_to_bundle = true\njwt_svids = [{jwt_audience = "db", jwt_svid_file_name = "db.token"}]\njwt_bundle_file_name = "jwt.json"\n`,
      ),
    );
    const result = await runCli(['helper', '-config', 'helper.conf'], { cwd: dir.path });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Wrote svid\.pem, svid_key\.pem, svid_bundle\.pem, jwt\.json, db\.token to /);
    const certs = join(dir.path, 'certs');
    assert.deepEqual(
      readdirSync(certs)
        .filter((n) => !n.startsWith('..'))
        .sort(),
      ['db.token', 'jwt.json', 'svid.pem', 'svid_bundle.pem', 'svid_key.pem'],
    );
    // add_intermediates_to_bundle: the leaf alone; the bundle holds root, intermediate and (include_federated_domains) partner.
    const chain = readFileSync(join(certs, 'svid.pem'), 'utf8').match(/BEGIN CERTIFICATE/g) ?? [];
    assert.equal(chain.length, 1);
    const bundle = readFileSync(join(certs, 'svid_bundle.pem'), 'utf8').match(/BEGIN CERTIFICATE/g) ?? [];
    assert.equal(bundle.length, 3);
    assert.match(readFileSync(join(certs, 'db.token'), 'utf8'), /^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('-daemon-mode=false on the command line overrides the file, and a failed fetch exits 1 saying why', async () => {
    writeConfig(x509Config('daemon_mode = true\n'));
    const result = await runCli(['helper', '-config', 'helper.conf', '-daemon-mode=false'], { cwd: dir.path });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /Unable to fetch from the Workload API: the agent at socket .* \(agent_address\) issued no identity to this process/,
    );
  });

  it('exit_when_ready: exits 0 once every file is written', async () => {
    serve(example.svid('/web'));
    writeConfig(x509Config('exit_when_ready = true\n'));
    const result = await runCli(['helper', '-config', 'helper.conf'], { cwd: dir.path });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /All files written; exiting \(exit_when_ready\)/);
    assert.ok(leafOnDisk());
  });

  const bad: Array<{ name: string; config: () => string; args?: string[]; error: RegExp }> = [
    {
      name: 'an unknown key',
      config: () => x509Config('\nrenew_sginal = "SIGHUP"\n'),
      error: /^Error: helper\.conf:7: unknown key "renew_sginal" \(did you mean "renew_signal"\?\)\n$/,
    },
    {
      name: 'a missing configuration file',
      config: () => '',
      args: ['-config', 'nope.conf'],
      error: /^Error: cannot read the configuration file nope\.conf: it does not exist \(give its path with -config\)\n$/,
    },
    {
      name: 'an unknown flag',
      config: () => x509Config(),
      args: ['-configg', 'x'],
      error: /^flag provided but not defined: -configg\nUsage of helper:/,
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name} (exit 1)`, async () => {
      writeConfig(c.config());
      const result = await runCli(['helper', ...(c.args ?? ['-config', 'helper.conf'])], { cwd: dir.path });
      assert.equal(result.code, 1);
      assert.match(result.stderr, c.error);
    });
  }
});
