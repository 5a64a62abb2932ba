/**
 * Command lines given bad input must end with a one-line reason and exit code 1, never a stack
 * trace: the example apps' flags and the dev agent's CLI. Each case found by the property-based
 * tests (src/fuzz) is pinned here, next to a valid counterpart that already behaves.
 */
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devAgentDir } from '@spiffe-node/harness';
import { startDevAgent, type DevAgent } from '@spiffe-node/dev-agent';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const NO_SOCKET = join(tmpdir(), 'spiffe-cli-errors-no-such-dir', 'x.sock');

function run(command: string, args: string[], input = ''): { code: number | null; stderr: string; stdout: string } {
  const r = spawnSync(command, args, {
    encoding: 'utf8',
    input,
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '', SPIFFE_ENDPOINT_SOCKET: `unix://${NO_SOCKET}`, SPIFFE_DEV_AGENT_ADMIN_SOCKET: NO_SOCKET },
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** As {@link run}, without blocking this process (whose in-process agent must answer the CLI). */
function runAsync(command: string, args: string[], input = ''): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

function assertOneLineError(r: { code: number | null; stderr: string; stdout: string }, what: string, pattern: RegExp): void {
  assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, `${what} printed a stack trace instead of a one-line error:\n${r.stderr}`);
  assert.equal(r.code, 1, `${what}: exit code`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length >= 1, `${what} says why`);
  assert.match(lines[0]!, pattern, `${what}: ${r.stderr}`);
}

const app = (name: string, role: string): string => join(ROOT, 'apps', name, 'dist', `${role}.js`);

describe('the example apps: bad flags', () => {
  it('a bad --timeout ends with one line (the valid counterpart)', () => {
    assertOneLineError(
      run(process.execPath, [app('mtls-echo', 'server'), '--timeout', 'abc']),
      'mtls-echo server --timeout abc',
      /timeoutMs must be a positive number/,
    );
  });

  for (const [name, role, flag] of [
    ['mtls-echo', 'server', '--client-id'],
    ['mtls-echo', 'client', '--server-id'],
    ['https-mtls', 'server', '--client-id'],
    ['https-mtls', 'client', '--server-id'],
    ['jwt-proxy', 'proxy', '--server-id'],
    ['jwt-proxy', 'client', '--server-id'],
    ['grpc-greeter', 'server', '--client-id'],
    ['grpc-greeter', 'client', '--server-id'],
  ] as const) {
    it(`${name} ${role} ${flag} with an invalid SPIFFE ID ends with one line, not a stack trace`, () => {
      assertOneLineError(
        run(process.execPath, [app(name, role), flag, 'spiffe://example.org/a//b', '--timeout', '1']),
        `${name} ${role} ${flag}`,
        /spiffeid: /,
      );
    });
  }

  for (const [name, role] of [
    ['mtls-echo', 'server'],
    ['jwt-proxy', 'client'],
  ] as const) {
    it(`${name} ${role} with an unknown flag ends with one line, not a stack trace`, () => {
      assertOneLineError(run(process.execPath, [app(name, role), '--bogus']), `${name} ${role} --bogus`, /bogus/);
    });
  }
});

describe('the dev agent CLI: bad input', () => {
  const agentCli = join(devAgentDir(), 'bin', 'spiffe-dev-agent.js');
  const spireServer = join(devAgentDir(), 'bin', 'spire-server');

  it('rotate with an unknown kind prints the usage (the valid counterpart)', () => {
    assertOneLineError(run(process.execPath, [agentCli, 'rotate', 'nope']), 'rotate nope', /^Usage: spiffe-dev-agent rotate x509\|jwt/);
  });

  it('rotate with an unknown flag ends with one line, not a stack trace', () => {
    assertOneLineError(
      run(process.execPath, [agentCli, 'rotate', 'x509', '-bogus']),
      'rotate x509 -bogus',
      /^Error: flag provided but not defined: -bogus/,
    );
  });

  it('entry create -data with registration JSON without "entries" ends with one line (the valid counterpart)', () => {
    assertOneLineError(
      run(spireServer, ['entry', 'create', '-data', '-', '-socketPath', NO_SOCKET], '{"entries": 5}'),
      'entry create -data - ({"entries": 5})',
      /^Error: the registration JSON has no "entries" array/,
    );
  });

  it('entry create -data naming a missing file ends with one line, not a stack trace', () => {
    const missing = join(tmpdir(), 'spiffe-cli-errors-missing.json');
    assertOneLineError(
      run(spireServer, ['entry', 'create', '-data', missing, '-socketPath', NO_SOCKET]),
      'entry create -data <missing file>',
      /^Error: .*spiffe-cli-errors-missing\.json/,
    );
  });

  for (const [what, json] of [
    [
      '"selectors" that is not an array',
      '{"entries":[{"spiffe_id":"spiffe://example.org/x","parent_id":"spiffe://example.org/host","selectors":"unix:uid:0"}]}',
    ],
    ['an entry that is null', '{"entries":[null]}'],
  ] as const) {
    it(`entry create -data - with ${what} ends with one line, not a stack trace`, () => {
      assertOneLineError(
        run(spireServer, ['entry', 'create', '-data', '-', '-socketPath', NO_SOCKET], json),
        `entry create -data - (${what})`,
        /^Error: /,
      );
    });
  }
});

describe('the dev agent CLI: an entry the agent refuses, described back', () => {
  const spireServer = join(devAgentDir(), 'bin', 'spire-server');
  let dir: string;
  let agent: DevAgent;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spiffe-cli-errors-'));
    agent = await startDevAgent({
      socketPath: join(dir, 'public', 'api.sock'),
      adminSocketPath: join(dir, 'private', 'admin.sock'),
      dataDir: join(dir, 'data'),
      logLevel: 'error',
    });
  });
  after(async () => {
    await agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a refused entry with valid members is reported in SPIRE's words (the valid counterpart)", async () => {
    const json =
      '{"entries":[{"spiffe_id":"not an id","parent_id":"spiffe://example.org/host","selectors":[{"type":"unix","value":"uid:0"}]}]}';
    const r = await runAsync(spireServer, ['entry', 'create', '-data', '-', '-socketPath', agent.adminSocketPath], json);
    assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, r.stderr);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Failed to create the following entry \(code: InvalidArgument/);
  });

  it('a refused entry whose "federates_with" is not an array ends with one line, not a stack trace', async () => {
    const json =
      '{"entries":[{"spiffe_id":"not an id","parent_id":"spiffe://example.org/host","selectors":[{"type":"unix","value":"uid:0"}],"federates_with":"spiffe://partner.org"}]}';
    assertOneLineError(
      await runAsync(spireServer, ['entry', 'create', '-data', '-', '-socketPath', agent.adminSocketPath], json),
      'entry create -data - (federates_with a string, entry refused)',
      /^(Error: |Failed to create)/,
    );
  });
});
