/**
 * The spire-server compatible CLI against a running agent process: SPIRE's flag spellings and
 * output shapes, through `bin/spire-server` (the POSIX sh wrapper, reached through a symlink) and
 * through the CLI module.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  openStream,
  PACKAGE_DIR,
  runCommand,
  runServerCli,
  splitDer,
  startAgentProcess,
  tempDir,
  workloadClient,
  type AgentProcess,
} from '../testing/agent-process.js';

const ENTRY_ID = /^Entry ID {9}: ([0-9a-f-]{36})$/m;

describe('spire-server compatible CLI', () => {
  const dir = tempDir();
  let agent: AgentProcess;
  let spireServer: string;
  const cli = (args: string[], input?: string) => runServerCli(agent.adminSocketPath, args, input);

  before(async () => {
    // bin/spire-server runs the built CLI (dist/cli.js): build it.
    const tsc = createRequire(join(PACKAGE_DIR, 'package.json')).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: PACKAGE_DIR, stdio: 'inherit' });
    agent = await startAgentProcess(dir.path, ['-federatedTrustDomain', 'partner.org']);
    spireServer = join(dir.path, 'spire-server');
    symlinkSync(join(PACKAGE_DIR, 'bin', 'spire-server'), spireServer);
  });

  after(async () => {
    await agent?.stop();
    dir.remove();
  });

  it('healthcheck prints "Server is healthy." while the agent runs, and fails without it', async () => {
    const ok = await runCommand(spireServer, ['healthcheck', '-socketPath', agent.adminSocketPath]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'Server is healthy.\n');
    const down = await runCommand(spireServer, ['healthcheck', '-socketPath', join(dir.path, 'nothing.sock')]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /server is unhealthy/);
  });

  it("creates, shows and deletes entries with SPIRE's flags and output", async () => {
    const created = await runCommand(spireServer, [
      'entry',
      'create',
      '-socketPath',
      agent.adminSocketPath,
      '-spiffeID',
      'spiffe://example.org/server',
      '-parentID',
      'spiffe://example.org/host',
      '-selector',
      'unix:user:server-workload',
      '-selector',
      'unix:uid:1001',
      '-x509SVIDTTL',
      '600',
      '-jwtSVIDTTL',
      '120',
      '-dns',
      'server.local',
      '-federatesWith',
      'spiffe://partner.org',
      '-hint',
      'server',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const id = ENTRY_ID.exec(created.stdout)?.[1];
    assert.ok(id, created.stdout);
    assert.equal(
      created.stdout,
      [
        `Entry ID         : ${id}`,
        'SPIFFE ID        : spiffe://example.org/server',
        'Parent ID        : spiffe://example.org/host',
        'Revision         : 0',
        'X509-SVID TTL    : 600',
        'JWT-SVID TTL     : 120',
        // Sorted by type, then value, as SPIRE prints a created entry.
        'Selector         : unix:uid:1001',
        'Selector         : unix:user:server-workload',
        // A trust domain name, as SPIRE prints a stored entry's.
        'FederatesWith    : partner.org',
        'DNS name         : server.local',
        'Hint             : server',
        '',
        '',
      ].join('\n'),
    );
    const other = await cli([
      'entry',
      'create',
      '-spiffeID',
      'spiffe://example.org/client',
      '-parentID',
      'spiffe://example.org/host',
      '-selector',
      'unix:user:client-workload',
    ]);
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stdout, /X509-SVID TTL {4}: default\nJWT-SVID TTL {5}: default\nSelector {9}: unix:user:client-workload\n/);

    const all = await cli(['entry', 'show']);
    assert.match(all.stdout, /^Found 2 entries\n/);
    const bySpiffeId = await cli(['entry', 'show', '-spiffeID', 'spiffe://example.org/server']);
    assert.match(bySpiffeId.stdout, /^Found 1 entry\n/);
    assert.match(bySpiffeId.stdout, new RegExp(`Entry ID {9}: ${id}`));
    const bySelector = await cli(['entry', 'show', '-selector', 'unix:user:client-workload']);
    assert.match(bySelector.stdout, /^Found 1 entry\n[^]*SPIFFE ID {8}: spiffe:\/\/example.org\/client\n/);
    const none = await cli(['entry', 'show', '-selector', 'unix:user:nobody-here']);
    assert.equal(none.stdout, 'Found 0 entries\n');
    const json = await cli(['entry', 'show', '-spiffeID', 'spiffe://example.org/server', '-output', 'json']);
    const parsed = JSON.parse(json.stdout) as { entries: Array<{ id: string; spiffe_id: { trust_domain: string; path: string } }> };
    assert.deepEqual(
      parsed.entries.map((e) => [e.id, e.spiffe_id.path]),
      [[id, '/server']],
    );

    const deleted = await runCommand(spireServer, ['entry', 'delete', '-socketPath', agent.adminSocketPath, '-entryID', id]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, `Deleted entry with ID: ${id}\n\n\nDeleted 1 entries successfully`);
    assert.match((await cli(['entry', 'show'])).stdout, /^Found 1 entry\n/);
    const again = await cli(['entry', 'delete', '-entryID', id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /entry not found/);
  });

  it("rejects what SPIRE rejects, with SPIRE's messages", async () => {
    const base = ['entry', 'create', '-parentID', 'spiffe://example.org/host'];
    const cases: Array<{ args: string[]; error: RegExp }> = [
      { args: [...base, '-spiffeID', 'spiffe://example.org/x'], error: /^Error: at least one selector is required$/m },
      {
        args: ['entry', 'create', '-spiffeID', 'spiffe://example.org/x', '-selector', 'unix:uid:1'],
        error: /^Error: a parent ID is required if the node flag is not set$/m,
      },
      { args: [...base, '-selector', 'unix:uid:1'], error: /^Error: a SPIFFE ID is required$/m },
      {
        args: [...base, '-spiffeID', 'spiffe://example.org/x', '-selector', 'unix'],
        error: /selector "unix" must be formatted as type:value/,
      },
      {
        args: [...base, '-spiffeID', 'spiffe://example.org/x', '-selector', 'unix:uid:1', '-x509SVIDTTL', '-5'],
        error: /a positive TTL is required/,
      },
      {
        args: [...base, '-spiffeID', 'spiffe://other.org/x', '-selector', 'unix:uid:1'],
        error: /not in a trust domain this agent issues for/,
      },
      {
        args: [...base, '-spiffeID', 'spiffe://example.org/x', '-selector', 'unix:uid:1', '-federatesWith', 'spiffe://unknown.org'],
        error: /code: InvalidArgument, msg: "entry: no bundle for federated trust domain \\"unknown.org\\"/,
      },
      {
        args: [...base, '-spiffeID', 'spiffe://example.org/x', '-selector', 'unix:uid:1', '-bogus'],
        error: /flag provided but not defined: -bogus/,
      },
      { args: ['entry', 'delete'], error: /an entry ID is required/ },
    ];
    for (const c of cases) {
      const res = await cli(c.args);
      assert.equal(res.code, 1, c.args.join(' '));
      assert.match(res.stderr, c.error, c.args.join(' '));
    }
    // The valid counterpart, then the same entry again: AlreadyExists.
    const args = [...base, '-spiffeID', 'spiffe://example.org/x', '-selector', 'unix:uid:1'];
    assert.equal((await cli(args)).code, 0);
    const dup = await cli(args);
    assert.equal(dup.code, 1);
    assert.match(
      dup.stderr,
      /^Failed to create the following entry \(code: AlreadyExists, msg: "similar entry already exists"\):\nEntry ID {9}: \(none\)\n/,
    );
    assert.match(dup.stderr, /Error: failed to create one or more entries\n$/);
  });

  it('creates an entry under the ID given with -entryID, and fails on a taken or invalid one as SPIRE does', async () => {
    const args = (id: string, name: string) => [
      'entry',
      'create',
      '-entryID',
      id,
      '-parentID',
      'spiffe://example.org/host',
      '-spiffeID',
      `spiffe://example.org/${name}`,
      '-selector',
      `unix:user:${name}`,
    ];
    const created = await cli(args('custom-1', 'custom'));
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^Entry ID {9}: custom-1\nSPIFFE ID {8}: spiffe:\/\/example.org\/custom\n/);
    const shown = await cli(['entry', 'show', '-entryID', 'custom-1']);
    assert.match(shown.stdout, /^Found 1 entry\nEntry ID {9}: custom-1\n/);
    // Another entry under the same ID: AlreadyExists, the entry printed with the ID asked for.
    const taken = await cli(args('custom-1', 'custom-other'));
    assert.equal(taken.code, 1);
    assert.match(
      taken.stderr,
      /^Failed to create the following entry \(code: AlreadyExists, msg: "an entry with ID \\"custom-1\\" already exists[^"]*"\):\nEntry ID {9}: custom-1\nSPIFFE ID {8}: spiffe:\/\/example.org\/custom-other\n/,
    );
    assert.match(taken.stderr, /Error: failed to create one or more entries\n$/);
    const invalid = await cli(args('not valid!', 'custom-invalid'));
    assert.equal(invalid.code, 1);
    assert.match(
      invalid.stderr,
      /^Failed to create the following entry \(code: InvalidArgument, msg: "entry: entry ID \\"not valid!\\" contains invalid characters/,
    );
    // An empty -entryID is no choice: a UUID.
    const generated = await cli([
      'entry',
      'create',
      '-entryID',
      '',
      '-parentID',
      'spiffe://example.org/host',
      '-spiffeID',
      'spiffe://example.org/custom-generated',
      '-selector',
      'unix:user:g',
    ]);
    assert.match(generated.stdout, ENTRY_ID);
    // "." and ".." are valid IDs (SPIRE's alphabet) and survive the admin API's paths.
    for (const id of ['.', '..']) {
      const dotted = await cli(args(id, `dotted${id.length}`));
      assert.equal(dotted.code, 0, dotted.stderr);
      const deleted = await cli(['entry', 'delete', '-entryID', id]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(deleted.stdout, `Deleted entry with ID: ${id}\n\n\nDeleted 1 entries successfully`);
    }
    for (const id of ['custom-1', ENTRY_ID.exec(generated.stdout)![1]!])
      assert.equal((await cli(['entry', 'delete', '-entryID', id])).code, 0);
  });

  it("shows entries in SPIRE's order (trust domain, path, parent, TTLs, selectors), selectors sorted", async () => {
    const parent = 'spiffe://example.org/order-node';
    const create = async (name: string, ...more: string[]) => {
      const r = await cli(['entry', 'create', '-parentID', parent, '-spiffeID', `spiffe://example.org/${name}`, ...more]);
      assert.equal(r.code, 0, r.stderr);
    };
    await create('order-z', '-selector', 'unix:uid:1');
    await create('order-b', '-selector', 'unix:user:root', '-selector', 'unix:uid:0', '-x509SVIDTTL', '600');
    await create('order-b', '-selector', 'unix:uid:5');
    await create('order-a', '-selector', 'unix:uid:1');
    await create('order-p', '-selector', 'unix:uid:1');
    const partner = await cli([
      'entry',
      'create',
      '-parentID',
      parent,
      '-spiffeID',
      'spiffe://partner.org/order',
      '-selector',
      'unix:uid:1',
    ]);
    assert.equal(partner.code, 0, partner.stderr);
    const shown = await cli(['entry', 'show', '-parentID', parent]);
    const blocks = shown.stdout.split('\n\n').filter((b) => b.includes('SPIFFE ID'));
    const summary = blocks.map((b) =>
      [/SPIFFE ID {8}: (.*)/.exec(b)![1], [...b.matchAll(/Selector {9}: (.*)/g)].map((m) => m[1]).join(',')].join(' '),
    );
    assert.deepEqual(summary, [
      'spiffe://example.org/order-a unix:uid:1',
      'spiffe://example.org/order-b unix:uid:5',
      'spiffe://example.org/order-b unix:uid:0,unix:user:root',
      'spiffe://example.org/order-p unix:uid:1',
      'spiffe://example.org/order-z unix:uid:1',
      'spiffe://partner.org/order unix:uid:1',
    ]);
    const json = JSON.parse((await cli(['entry', 'show', '-parentID', parent, '-output', 'json'])).stdout) as {
      entries: Array<{ spiffe_id: { path: string }; selectors: Array<{ value: string }> }>;
    };
    assert.deepEqual(
      json.entries.map((e) => e.spiffe_id.path),
      ['/order-a', '/order-b', '/order-b', '/order-p', '/order-z', '/order'],
    );
    assert.deepEqual(
      json.entries[2]!.selectors.map((x) => x.value),
      ['uid:0', 'user:root'],
    );
  });

  it('creates entries from a registration JSON file (-data), as SPIRE does', async () => {
    const data = JSON.stringify({
      entries: [
        {
          spiffe_id: 'spiffe://example.org/from-file',
          parent_id: 'spiffe://example.org/host',
          selectors: [{ type: 'unix', value: 'uid:2001' }],
          x509_svid_ttl: 300,
        },
        {
          entry_id: 'from-file-id',
          spiffe_id: { trust_domain: 'example.org', path: '/from-file-2' },
          parent_id: { trust_domain: 'example.org', path: '/host' },
          selectors: [{ type: 'unix', value: 'uid:2002' }],
        },
      ],
    });
    const res = await cli(['entry', 'create', '-data', '-'], data);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.match(/^Entry ID/gm)?.length, 2);
    assert.match(res.stdout, /SPIFFE ID {8}: spiffe:\/\/example.org\/from-file\n[^]*X509-SVID TTL {4}: 300\n/);
    assert.match(res.stdout, /Entry ID {9}: from-file-id\nSPIFFE ID {8}: spiffe:\/\/example.org\/from-file-2\n/);
  });

  it('bundle show prints the trust bundle the Workload API serves (pem and spiffe formats)', async () => {
    const pem = await runCommand(spireServer, ['bundle', 'show', '-socketPath', agent.adminSocketPath]);
    assert.equal(pem.code, 0, pem.stderr);
    assert.match(pem.stdout, /^-----BEGIN CERTIFICATE-----\n/);
    // The Workload API serves the same root to a workload.
    const entry = await cli([
      'entry',
      'create',
      '-spiffeID',
      'spiffe://example.org/bundle-check',
      '-parentID',
      'spiffe://example.org/host',
      '-selector',
      `unix:uid:${process.getuid!()}`,
    ]);
    assert.equal(entry.code, 0, entry.stderr);
    const client = workloadClient(agent.socketPath);
    try {
      const stream = openStream<{ bundles: Record<string, Buffer> }>(client, 'FetchX509Bundles');
      const res = await stream.message(1);
      stream.cancel();
      const served = splitDer(res.bundles['spiffe://example.org']!)
        .map((d) => new X509Certificate(d).toString())
        .join('');
      assert.equal(served, pem.stdout);
    } finally {
      client.close();
    }
    const spiffe = await cli(['bundle', 'show', '-format', 'spiffe']);
    const bundle = JSON.parse(spiffe.stdout) as {
      keys: Array<{ use: string; x5c?: string[]; kid?: string }>;
      spiffe_sequence: number;
      spiffe_refresh_hint: number;
    };
    const x509 = bundle.keys.filter((k) => k.use === 'x509-svid');
    assert.equal(x509.length, 1);
    assert.equal(new X509Certificate(Buffer.from(x509[0]!.x5c![0]!, 'base64')).toString(), pem.stdout);
    assert.ok(bundle.keys.some((k) => k.use === 'jwt-svid' && typeof k.kid === 'string'));
    assert.ok(bundle.spiffe_sequence >= 1);
    assert.equal(bundle.spiffe_refresh_hint, 300);
    const federated = await cli(['bundle', 'list', '-id', 'spiffe://partner.org']);
    assert.match(federated.stdout, /^-----BEGIN CERTIFICATE-----\n/);
    assert.notEqual(federated.stdout, pem.stdout);
  });

  it('token generate prints a token, harmlessly', async () => {
    const res = await cli(['token', 'generate', '-spiffeID', 'spiffe://example.org/node']);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /^Token: [0-9a-f-]{36}\n$/);
  });

  it('runs a registration script written for SPIRE, with SPIRE_SERVER pointing at the wrapper', async () => {
    const script = join(dir.path, 'register.sh');
    writeFileSync(
      script,
      [
        '#!/bin/sh',
        'set -e',
        'SPIRE_SERVER=${SPIRE_SERVER:-spire-server}',
        '"$SPIRE_SERVER" healthcheck',
        'for name in web api; do',
        '  "$SPIRE_SERVER" entry create -parentID spiffe://example.org/host -spiffeID "spiffe://example.org/$name" -selector "unix:user:$name-workload"',
        'done',
        '"$SPIRE_SERVER" entry show -selector unix:user:api-workload',
        '',
      ].join('\n'),
    );
    chmodSync(script, 0o755);
    const res = await runCommand(script, [], { SPIRE_SERVER: spireServer, SPIFFE_DEV_AGENT_ADMIN_SOCKET: agent.adminSocketPath });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^Server is healthy.\n/);
    assert.match(res.stdout, /Found 1 entry\n[^]*SPIFFE ID {8}: spiffe:\/\/example.org\/api\n/);
  });
});
