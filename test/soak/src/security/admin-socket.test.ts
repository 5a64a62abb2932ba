/**
 * The dev agent's public Workload API socket (and its identity sockets) never expose the admin
 * API: not over HTTP/1.1, not over HTTP/2, not as a gRPC method. The admin socket itself is
 * private (0600 in a 0700 folder) and refuses other users. Each refusal has its valid
 * counterpart on the admin socket.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { devAgentDir, isRoot, startWorkload, type Workload } from '@spiffe-node/harness';
import { WorkloadApiClient } from '@spiffe-node/spiffe';

let dir: string;
let agent: Workload;
const admin = (): string => join(dir, 'private', 'admin.sock');
const publicSocket = (): string => join(dir, 'public', 'api.sock');
const identitySocket = (): string => join(dir, 'public', 'client.sock');
const CLI = (): string => join(devAgentDir(), 'bin', 'spire-server');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spiffe-admin-'));
  spawnSync('chmod', ['0755', dir]);
  agent = startWorkload({
    name: 'dev-agent',
    command: process.execPath,
    args: [
      join(devAgentDir(), 'bin', 'spiffe-dev-agent.js'),
      'run',
      '-socketPath',
      publicSocket(),
      '-adminSocketPath',
      admin(),
      '-dataDir',
      join(dir, 'data'),
      '-identitySocket',
      `spiffe://example.org/client=${identitySocket()}`,
    ],
  });
  const deadline = Date.now() + 20_000;
  while (spawnSync(CLI(), ['healthcheck', '-socketPath', admin()]).status !== 0) {
    if (Date.now() > deadline || agent.exitInfo) throw new Error(`the agent did not start:\n${agent.output()}`);
    await sleep(50);
  }
  const r = spawnSync(
    CLI(),
    [
      'entry',
      'create',
      '-spiffeID',
      'spiffe://example.org/client',
      '-parentID',
      'spiffe://example.org/host',
      '-selector',
      'unix:uid:0',
      '-socketPath',
      admin(),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
});

after(async () => {
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function http1(
  socketPath: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      { socketPath, method, path, headers: body ? { 'content-type': 'application/json' } : {}, timeout: 3000 },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        res.on('error', (e) => resolve({ error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
    req.end(body);
  });
}

function http2Request(
  socketPath: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const session = http2.connect('http://localhost', { createConnection: () => netConnect(socketPath) });
    session.on('error', (e) => resolve({ error: e.message }));
    const req = session.request({ ':method': method, ':path': path, 'content-type': 'application/json' });
    let status = 0;
    let data = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.setEncoding('utf8');
    req.on('data', (c: string) => (data += c));
    req.on('end', () => {
      session.close();
      resolve({ status, body: data });
    });
    req.on('error', (e) => {
      session.close();
      resolve({ error: e.message });
    });
    req.setTimeout(3000, () => req.close(http2.constants.NGHTTP2_CANCEL));
    req.end(body);
  });
}

async function entryCount(): Promise<number> {
  const r = await http1(admin(), 'GET', '/v1/entries');
  assert.ok('status' in r && r.status === 200, JSON.stringify(r));
  return (JSON.parse((r as { body: string }).body) as { entries: unknown[] }).entries.length;
}

async function svidSerial(): Promise<string> {
  const client = new WorkloadApiClient({ address: `unix://${identitySocket()}` });
  try {
    return (await client.fetchX509Svid()).certificates[0]!.serialNumber;
  } finally {
    client.close();
  }
}

const isAdminAnswer = (r: { status: number; body: string } | { error: string }): boolean =>
  'status' in r && r.status >= 200 && r.status < 300 && /"entries"|"entry"|"status"/.test(r.body);

describe("the dev agent's admin API is reachable only on its admin socket", () => {
  it('the admin socket answers the admin API (the valid counterpart)', async () => {
    const r = await http1(admin(), 'GET', '/v1/entries');
    assert.ok(isAdminAnswer(r), JSON.stringify(r));
    assert.equal(await entryCount(), 1);
  });

  for (const [name, socket] of [
    ['the public socket', publicSocket],
    ['an identity socket', identitySocket],
  ] as const) {
    it(`${name} does not answer the admin API over HTTP/1.1`, async () => {
      const serial = await svidSerial();
      for (const [method, path, body] of [
        ['GET', '/v1/entries', undefined],
        ['GET', '/v1/health', undefined],
        ['GET', '/v1/bundle?format=pem', undefined],
        ['POST', '/v1/entries', JSON.stringify({ spiffeId: 'spiffe://example.org/evil', selectors: ['unix:uid:0'] })],
        ['POST', '/v1/rotate/x509', ''],
      ] as const) {
        const r = await http1(socket(), method, path, body);
        assert.ok(!isAdminAnswer(r), `${method} ${path} on ${name}: ${JSON.stringify(r)}`);
      }
      assert.equal(await entryCount(), 1, 'no entry was created through it');
      assert.equal(await svidSerial(), serial, 'no rotation was triggered through it');
    });

    it(`${name} does not answer the admin API over HTTP/2`, async () => {
      for (const [method, path, body] of [
        ['GET', '/v1/entries', undefined],
        ['POST', '/v1/entries', JSON.stringify({ spiffeId: 'spiffe://example.org/evil', selectors: ['unix:uid:0'] })],
        ['POST', '/v1/rotate/jwt', ''],
      ] as const) {
        const r = await http2Request(socket(), method, path, body);
        assert.ok(!isAdminAnswer(r), `${method} ${path} over HTTP/2 on ${name}: ${JSON.stringify(r)}`);
      }
      assert.equal(await entryCount(), 1);
    });

    it(`${name} serves only the five Workload API methods: any other gRPC method is Unimplemented`, async () => {
      const client = new grpc.Client(`unix://${socket()}`, grpc.credentials.createInsecure());
      try {
        for (const path of [
          '/spire.api.server.entry.v1.Entry/BatchCreateEntry',
          '/AdminAPI/CreateEntry',
          '/SpiffeWorkloadAPI/CreateEntry',
          '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
        ]) {
          const md = new grpc.Metadata();
          md.set('workload.spiffe.io', 'true');
          const code = await new Promise<number>((resolve) => {
            client.makeUnaryRequest(
              path,
              (x: Buffer) => x,
              (x: Buffer) => x,
              Buffer.alloc(0),
              md,
              { deadline: Date.now() + 3000 },
              (err: grpc.ServiceError | null) => resolve(err?.code ?? grpc.status.OK),
            );
          });
          assert.equal(code, grpc.status.UNIMPLEMENTED, `${path} on ${name}: ${grpc.status[code]}`);
        }
      } finally {
        client.close();
      }
      assert.equal(await entryCount(), 1);
    });
  }

  it('the admin socket is 0600 in a 0700 folder; the public sockets are for everyone', () => {
    assert.equal(statSync(admin()).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(admin())).mode & 0o777, 0o700);
    assert.equal(statSync(publicSocket()).mode & 0o777, 0o777);
    assert.equal(statSync(identitySocket()).mode & 0o777, 0o777);
  });

  it('another user cannot connect to the admin socket, but can to the public one', () => {
    // As root this runs a probe as "nobody"; otherwise the mode bits above are what stands.
    if (!isRoot() || spawnSync('id', ['-u', 'nobody']).status !== 0) {
      assert.equal(statSync(admin()).mode & 0o077, 0, 'no access for other users');
      return;
    }
    const probe = (path: string): string =>
      spawnSync(
        'runuser',
        [
          '-u',
          'nobody',
          '--',
          process.execPath,
          '-e',
          `require('net').connect(${JSON.stringify(path)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`,
        ],
        { encoding: 'utf8' },
      ).stdout.trim();
    assert.equal(probe(admin()), 'EACCES');
    assert.equal(probe(publicSocket()), 'connected');
  });
});
