/**
 * Property-based test of the example apps' command lines (apps/*: built to dist/). Each run
 * starts one app as a real process with arbitrary flags (known and unknown, valid and not).
 * Without an agent behind its Workload API socket, the app must end by itself, non-zero, with a
 * one-line reason on stderr (a few lines at most) and never a stack trace. With a dev agent that gives it an identity
 * (so that the servers get as far as binding their port), a server either says it is listening
 * or ends the same clean way. Hosts are loopback addresses only: no name is ever resolved.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { startDevAgent, type DevAgent } from '@spiffe-node/dev-agent';
import { assertAsyncProperty, params } from './config.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const APPS: Record<string, string[]> = {
  'mtls-echo/server': ['host', 'port', 'client-id', 'socket', 'timeout'],
  'mtls-echo/client': ['host', 'port', 'server-id', 'socket', 'timeout'],
  'https-mtls/server': ['host', 'port', 'client-id', 'socket', 'timeout'],
  'https-mtls/client': ['url', 'server-id', 'socket', 'timeout'],
  'jwt-proxy/server': ['host', 'port', 'audience', 'socket', 'timeout'],
  'jwt-proxy/proxy': ['host', 'port', 'upstream', 'server-id', 'socket', 'timeout'],
  'jwt-proxy/client': ['url', 'server-id', 'socket', 'timeout'],
};
const NO_AGENT = `unix://${join(tmpdir(), 'spiffe-fuzz-no-agent', 'api.sock')}`;

const valueFor = (name: string): fc.Arbitrary<string> => {
  const common = [fc.string({ maxLength: 10 }), fc.constantFrom('', '-', '--')];
  switch (name) {
    case 'port':
      return fc.oneof(fc.integer({ min: -5, max: 70000 }).map(String), fc.constantFrom('abc', '1e3', '0x50', ' 80'), ...common);
    case 'timeout':
      // A number of seconds the app really waits: keep it short.
      return fc.oneof(
        fc.constantFrom('1', '0', '-1', '0.5', 'abc', 'Infinity', 'NaN', '1e-9'),
        fc.string({ maxLength: 4 }).map((s) => (/^\s*[0-9.]+\s*$/.test(s) && Number(s) > 1 ? '1' : s)),
      );
    case 'client-id':
    case 'server-id':
    case 'audience':
      return fc.oneof(
        fc.constantFrom(
          'spiffe://example.org/client',
          'spiffe://example.org/server',
          'spiffe://example.org',
          'not-an-id',
          'spiffe://Ex ample.org/x',
          'spiffe://example.org/a//b',
        ),
        ...common,
      );
    case 'socket':
      return fc.oneof(
        fc.constantFrom(NO_AGENT, 'unix:relative.sock', 'tcp://localhost:1', 'tcp://127.0.0.1:0', 'http://x', '/abs/no/scheme.sock'),
        fc.string({ maxLength: 10 }).filter((v) => !/^(unix|tcp):/i.test(v)),
      );
    case 'url':
    case 'upstream':
      return fc.oneof(
        fc.constantFrom('https://127.0.0.1:1/', 'http://127.0.0.1:1/', 'https://[::1]:1/', 'not a url', 'https://[::1', 'ftp://x'),
        ...common.slice(1),
      );
    default:
      // Loopback only, and nothing that a resolver would be asked about.
      return fc.constantFrom('127.0.0.1', '::1', '127.0.0.1', '[::1]', '');
  }
};

const runOf = (apps: string[]) =>
  fc
    .constantFrom(...apps)
    .chain((app) =>
      fc
        .array(
          fc.oneof(
            { weight: 5, arbitrary: fc.constantFrom(...APPS[app]!).chain((name) => valueFor(name).map((v) => [`--${name}`, v])) },
            { weight: 1, arbitrary: fc.constantFrom(['--bogus'], ['-x'], ['positional'], ['--port'], ['--help']) },
          ),
          { maxLength: 4 },
        )
        .map((flags) => ({ app, args: flags.flat() })),
    );
const run = runOf(Object.keys(APPS));
const SERVERS = ['mtls-echo/server', 'https-mtls/server', 'jwt-proxy/server', 'jwt-proxy/proxy'];

interface AppRun {
  code: number | null;
  signal: string | null;
  stderr: string;
  stdout: string;
  /** Whether it printed that it listens (then it was stopped). */
  listening: boolean;
}

function runApp(app: string, args: string[], socket = NO_AGENT): Promise<AppRun> {
  const [name, role] = app.split('/') as [string, string];
  const script = join(ROOT, 'apps', name, 'dist', `${role}.js`);
  assert.ok(existsSync(script), `${script} is built (pnpm build)`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: join(ROOT, 'apps', name),
      env: {
        PATH: process.env.PATH ?? '',
        SPIFFE_ENDPOINT_SOCKET: socket,
        SPIFFE_STARTUP_TIMEOUT: '1',
        SERVER_HOST: '127.0.0.1',
        PROXY_HOST: '127.0.0.1',
        SERVER_PORT: '0',
        PROXY_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let listening = false;
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (!listening && /listening/i.test(stdout)) {
        listening = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stderr, stdout, listening });
    });
  });
}

describe("fuzz: the example apps' flags", () => {
  it('bad or good flags without an agent: the app ends by itself, non-zero, with a one-line reason and no stack trace', async () => {
    await assertAsyncProperty(
      fc.asyncProperty(run, async ({ app, args }) => {
        const r = await runApp(app, args);
        const what = `${app} ${JSON.stringify(args)}`;
        assert.equal(r.signal, null, `${what} did not end by itself within 8 s (output: ${r.stdout}${r.stderr})`);
        assert.notEqual(r.code, 0, `${what} succeeded without an agent`);
        assertCleanFailure(r, what);
      }),
      { ...params(14), timeout: 10_000 },
    );
  });
});

function assertCleanFailure(r: AppRun, what: string): void {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, `${what} printed a stack trace:\n${r.stderr}`);
  // One reason; Node's own parseArgs messages take up to three lines ("... is ambiguous. Did you ...").
  assert.ok(lines.length >= 1 && lines.length <= 3, `${what}: a short reason, got:\n${r.stderr}`);
}

describe("fuzz: the example servers' flags, with an agent", () => {
  let dir: string;
  let agent: DevAgent;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spiffe-fuzz-apps-'));
    agent = await startDevAgent({
      socketPath: join(dir, 'public', 'api.sock'),
      adminSocketPath: join(dir, 'private', 'admin.sock'),
      dataDir: join(dir, 'data'),
      trustDomain: 'example.org',
      logLevel: 'error',
    });
    await agent.createEntry({ spiffeId: 'spiffe://example.org/server', selectors: [`unix:uid:${process.getuid?.() ?? 0}`] });
  });
  after(async () => {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a server with an identity either listens or ends by itself with a one-line reason, never a stack trace', async () => {
    // The valid counterpart: with good flags every server gets its SVID and listens.
    for (const app of SERVERS) {
      const r = await runApp(
        app,
        ['--host', '127.0.0.1', '--port', '0', '--upstream', 'https://127.0.0.1:1'].slice(0, app === 'jwt-proxy/proxy' ? 6 : 4),
        agent.endpoint,
      );
      assert.ok(r.listening, `${app} listens with valid flags: ${r.stdout}${r.stderr}`);
    }
    await assertAsyncProperty(
      fc.asyncProperty(runOf(SERVERS), async ({ app, args }) => {
        const r = await runApp(
          app,
          args.filter((a, i) => a !== '--socket' && args[i - 1] !== '--socket'),
          agent.endpoint,
        );
        const what = `${app} ${JSON.stringify(args)}`;
        if (r.listening) return;
        assert.equal(r.signal, null, `${what} neither listened nor ended within 8 s (output: ${r.stdout}${r.stderr})`);
        assert.notEqual(r.code, 0, `${what} exited 0 without listening`);
        assertCleanFailure(r, what);
      }),
      { ...params(12), timeout: 10_000 },
    );
  });
});
