/**
 * Property-based test of the dev agent's admin CLI (`spire-server`-compatible `entry`, `bundle`,
 * `healthcheck`, `token`, and `rotate`), run in-process (the CLI's `main` with its own I/O)
 * against a real agent listening on temporary sockets. Arguments are drawn from every flag of
 * every command (one or two dashes, `-flag=value` or `-flag value`), values valid and not,
 * unknown flags and commands, and registration JSON on stdin (`-data -`) with any shape.
 *
 * The property: the CLI returns 0 or 1 (never throws), says why in one "Error: ..." (or SPIRE's
 * "Failed to create ...") without a stack trace, the agent stays healthy, and every entry it holds
 * obeys the SPIFFE rules.
 *
 * It drives the CLI's internal `main`, so it lives in the dev agent's own tests (a fixed seed and
 * few runs in `pnpm test`); `pnpm fuzz` runs it long with the soak's fuzz files.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SpiffeId } from '@spiffe-node/spiffe';
import { assertAsyncProperty, params } from '@spiffe-node/test-kit/fuzz';
import { main } from './cli.js';
import { startDevAgent, type DevAgent } from './index.js';

let dir: string;
let agent: DevAgent;
let adminSocket: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spiffe-fuzz-cli-'));
  adminSocket = join(dir, 'private', 'admin.sock');
  agent = await startDevAgent({
    socketPath: join(dir, 'public', 'api.sock'),
    adminSocketPath: adminSocket,
    dataDir: join(dir, 'data'),
    trustDomain: 'example.org',
    federatedTrustDomains: ['partner.org'],
    logLevel: 'error',
  });
});

after(async () => {
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

const FLAGS = [
  'socketPath',
  'output',
  'spiffeID',
  'parentID',
  'selector',
  'x509SVIDTTL',
  'jwtSVIDTTL',
  'ttl',
  'dns',
  'federatesWith',
  'hint',
  'data',
  'node',
  'admin',
  'downstream',
  'storeSVID',
  'entryExpiry',
  'entryID',
  'matchSelectorsOn',
  'matchFederatesWithOn',
  'format',
  'id',
  'verbose',
  'h',
  'nope',
  '',
];
const value = fc.oneof(
  fc.constantFrom(
    'spiffe://example.org/web',
    'spiffe://example.org/host',
    'spiffe://partner.org/api',
    'spiffe://partner.org',
    'spiffe://example.org/a//b',
    'SPIFFE://EXAMPLE.org/x',
    'example.org',
    'not an id',
    '',
    'unix:uid:0',
    'unix:user:root',
    'unix:',
    ':x',
    'k8s:ns:default',
    'type:value:with:colons',
    '0',
    '1',
    '-1',
    '3600',
    '99999999999999999999',
    '1.5',
    'abc',
    'json',
    'pretty',
    'yaml',
    'exact',
    'any',
    'superset',
    'subset',
    'pem',
    'spiffe',
    'jwks',
    'true',
    'false',
    '-',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const flag = fc
  .tuple(fc.constantFrom(...FLAGS), fc.constantFrom('-', '--'), fc.boolean(), value)
  .map(([name, dashes, inline, v]) => (inline ? [`${dashes}${name}=${v}`] : [`${dashes}${name}`, v]));
const command = fc.constantFrom(
  ['entry', 'create'],
  ['entry', 'create'],
  ['entry', 'create'],
  ['entry', 'show'],
  ['entry', 'delete'],
  ['entry', 'count'],
  ['bundle', 'show'],
  ['bundle', 'list'],
  ['healthcheck'],
  ['token', 'generate'],
  ['entry'],
  ['bogus', 'cmd'],
  [],
);
/** Registration JSON in SPIRE's shape, with any member of any type. */
const anyJson = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
);
const entryJson = fc.record(
  {
    spiffe_id: fc.oneof(value, fc.record({ trust_domain: value, path: value }), anyJson),
    parent_id: fc.oneof(fc.constant('spiffe://example.org/host'), value, fc.record({ trust_domain: value, path: value }), anyJson),
    selectors: fc.oneof(
      fc.array(fc.record({ type: fc.oneof(value, anyJson), value: fc.oneof(value, anyJson) }), { maxLength: 2 }),
      anyJson,
    ),
    x509_svid_ttl: fc.oneof(fc.integer({ min: -10, max: 100000 }), anyJson),
    jwt_svid_ttl: fc.oneof(fc.integer({ min: -10, max: 100000 }), anyJson),
    dns_names: fc.oneof(fc.array(value, { maxLength: 2 }), anyJson),
    federates_with: fc.oneof(fc.array(value, { maxLength: 2 }), anyJson),
    hint: fc.oneof(value, anyJson),
  },
  { requiredKeys: [] },
);
const stdin = fc.oneof(
  fc
    .array(fc.oneof({ weight: 5, arbitrary: entryJson }, { weight: 1, arbitrary: anyJson }), { maxLength: 3 })
    .map((entries) => JSON.stringify({ entries })),
  anyJson.map((j) => JSON.stringify({ entries: j })),
  fc.string({ maxLength: 20 }),
);
const argv = fc
  .tuple(command, fc.array(flag, { maxLength: 6 }), fc.boolean(), fc.boolean(), stdin)
  .map(([cmd, flags, dataFromStdin, missingFile, input]) => {
    const args = [...cmd, ...flags.flat()];
    if (dataFromStdin && cmd[1] === 'create') args.push('-data', missingFile ? join(tmpdir(), 'spiffe-fuzz-no-such-file.json') : '-');
    return { args, input };
  });
const rotate = fc
  .tuple(fc.constantFrom('x509', 'jwt', 'both', ''), fc.array(flag, { maxLength: 2 }))
  .map(([kind, flags]) => ({ args: [kind, ...flags.flat()], input: '' }));

async function runCli(top: 'server' | 'rotate', args: string[], input: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  // Never the default admin socket (a developer's agent may run there): an unset or unknown
  // -socketPath falls back to this agent's through the environment.
  const safeArgs = args.map((a, i) =>
    args[i - 1]?.replace(/^--?/, '') === 'socketPath' || /^--?socketPath=/.test(a)
      ? a.includes('=')
        ? `-socketPath=${adminSocket}`
        : adminSocket
      : a,
  );
  const code = await main([top, ...safeArgs], {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    readStdin: () => input,
    env: { SPIFFE_DEV_AGENT_ADMIN_SOCKET: adminSocket },
  });
  return { code, out, err };
}

async function checkOutcome(top: 'server' | 'rotate', args: string[], input: string): Promise<void> {
  let result: { code: number; out: string; err: string };
  try {
    result = await runCli(top, args, input);
  } catch (e) {
    assert.fail(
      `\`spiffe-dev-agent ${top} ${args.join(' ')}\` threw instead of answering with an error: ${(e as Error)?.stack ?? String(e)}\nstdin: ${input}`,
    );
  }
  assert.ok(result.code === 0 || result.code === 1, `exit code ${result.code}`);
  if (result.code === 1) {
    assert.match(result.err, /(^|\n)(Error: |Failed to create|Usage)/, `a failure says why: ${JSON.stringify(result.err)}`);
  }
  assert.doesNotMatch(result.err + result.out, /\n\s+at .+\(.+:\d+:\d+\)/, 'no stack trace');
  const health = await runCli('server', ['healthcheck'], '');
  assert.equal(health.out, 'Server is healthy.\n', 'the agent stays healthy');
  for (const e of agent.listEntries()) {
    assert.doesNotThrow(() => SpiffeId.fromString(e.spiffeId), `entry SPIFFE ID ${e.spiffeId}`);
    assert.doesNotThrow(() => SpiffeId.fromString(e.parentId), `entry parent ID ${e.parentId}`);
    assert.ok(e.selectors.length > 0 && e.selectors.every((s) => s.type !== '' && s.value !== ''), `selectors of ${e.spiffeId}`);
    assert.ok(Number.isSafeInteger(e.x509SvidTtl) && e.x509SvidTtl >= 0, `x509 TTL ${e.x509SvidTtl}`);
    assert.ok(Number.isSafeInteger(e.jwtSvidTtl) && e.jwtSvidTtl >= 0, `JWT TTL ${e.jwtSvidTtl}`);
  }
}

describe('fuzz: the dev agent admin CLI', () => {
  it('spire-server commands: 0 or 1 with a one-line reason, the agent healthy, every entry valid', async () => {
    await assertAsyncProperty(
      fc.asyncProperty(argv, ({ args, input }) => checkOutcome('server', args, input)),
      params(250),
    );
  });

  it('rotate commands: 0 or 1 with a reason, the agent healthy', async () => {
    await assertAsyncProperty(
      fc.asyncProperty(rotate, ({ args, input }) => checkOutcome('rotate', args, input)),
      params(40),
    );
  });
});
