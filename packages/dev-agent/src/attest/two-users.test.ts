/**
 * Attestation of two different Unix users by one agent: each gets its own SPIFFE ID, from its
 * peer credentials alone. Needs root (creates two system users, removed afterwards).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../admin/client.js';
import { runCommand, startAgentProcess, tempDir, type AgentProcess } from '../testing/agent-process.js';

const isRoot = process.getuid?.() === 0;

function nodeRunnableByOthers(): boolean {
  try {
    // The users run the same node binary; it must be executable by them.
    accessSync(process.execPath, constants.X_OK);
    const mode = execFileSync('stat', ['-L', '-c', '%a', process.execPath]).toString().trim();
    return (parseInt(mode, 8) & 0o001) !== 0;
  } catch {
    return false;
  }
}

const skip = !isRoot
  ? 'needs root: it creates two Unix users and runs a client as each'
  : !nodeRunnableByOthers()
    ? `${process.execPath} is not executable by other users`
    : false;

/**
 * A dependency-free Workload API client (node:http2, hand-decoded protobuf), so the users need to
 * read nothing but this file: it prints the SPIFFE IDs of FetchX509SVID's first message, or the
 * gRPC status.
 */
const CLIENT = `
import http2 from 'node:http2';
import net from 'node:net';
const socketPath = process.argv[2];
const session = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
session.on('error', (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });
const req = session.request({
  ':method': 'POST', ':path': '/SpiffeWorkloadAPI/FetchX509SVID',
  'content-type': 'application/grpc', te: 'trailers', 'workload.spiffe.io': 'true',
});
req.end(Buffer.from([0, 0, 0, 0, 0]));
function varint(buf, pos) {
  let value = 0, shift = 0, b;
  do { b = buf[pos++]; value += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
  return [value, pos];
}
function fields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    let key; [key, pos] = varint(buf, pos);
    const field = Math.floor(key / 8), wire = key & 7;
    if (wire === 2) { let len; [len, pos] = varint(buf, pos); out.push([field, buf.subarray(pos, pos + len)]); pos += len; }
    else if (wire === 0) { [, pos] = varint(buf, pos); }
    else throw new Error('unexpected wire type ' + wire);
  }
  return out;
}
let data = Buffer.alloc(0);
let done = false;
req.on('data', (chunk) => {
  data = Buffer.concat([data, chunk]);
  if (done || data.length < 5) return;
  const len = data.readUInt32BE(1);
  if (data.length < 5 + len) return;
  done = true;
  const ids = fields(data.subarray(5, 5 + len))
    .filter(([f]) => f === 1)
    .map(([, svid]) => fields(svid).find(([f]) => f === 1)[1].toString());
  console.log(JSON.stringify({ ids }));
  req.close(); session.close();
});
req.on('trailers', (t) => {
  if (!done && t['grpc-status'] !== '0') {
    done = true;
    console.log(JSON.stringify({ status: Number(t['grpc-status']), message: decodeURIComponent(t['grpc-message'] || '') }));
  }
  session.close();
});
req.on('response', (h) => {
  if (h['grpc-status'] !== undefined && h['grpc-status'] !== '0') {
    done = true;
    console.log(JSON.stringify({ status: Number(h['grpc-status']), message: decodeURIComponent(h['grpc-message'] || '') }));
    session.close();
  }
});
`;

describe('attestation of two Unix users by the same agent', { skip }, () => {
  const suffix = randomBytes(3).toString('hex');
  const users = [`sda-a-${suffix}`, `sda-b-${suffix}`, `sda-c-${suffix}`];
  const dir = tempDir();
  let agent: AgentProcess;
  let script: string;

  before(async () => {
    for (const user of users) execFileSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', user]);
    // Workload users must reach the socket and the client script: the directory is 0755.
    chmodSync(dir.path, 0o755);
    script = join(dir.path, 'client.mjs');
    writeFileSync(script, CLIENT, { mode: 0o644 });
    agent = await startAgentProcess(dir.path);
    const admin = new AdminClient(agent.adminSocketPath);
    const uidOf = (user: string): string => execFileSync('id', ['-u', user]).toString().trim();
    const gidOf = (user: string): string => execFileSync('id', ['-g', user]).toString().trim();
    await admin.createEntry({ spiffeId: 'spiffe://example.org/user-a', selectors: [`unix:user:${users[0]}`] });
    await admin.createEntry({ spiffeId: 'spiffe://example.org/user-b', selectors: [`unix:uid:${uidOf(users[1]!)}`, `unix:gid:${gidOf(users[1]!)}`] });
  });

  after(async () => {
    await agent?.stop();
    for (const user of users) {
      try {
        execFileSync('userdel', [user], { stdio: 'ignore' });
      } catch {
        // Not created.
      }
    }
    dir.remove();
  });

  const runAs = async (user: string): Promise<{ ids?: string[]; status?: number; message?: string }> => {
    const res = await runCommand('runuser', ['-u', user, '--', process.execPath, script, agent.socketPath]);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout) as { ids?: string[] };
  };

  it('gives each user its own SPIFFE ID', async () => {
    assert.deepEqual(await runAs(users[0]!), { ids: ['spiffe://example.org/user-a'] });
    assert.deepEqual(await runAs(users[1]!), { ids: ['spiffe://example.org/user-b'] });
  });

  it('gives a user without an entry PermissionDenied', async () => {
    assert.deepEqual(await runAs(users[2]!), { status: 7, message: 'no identity issued' });
  });

  it('logs the attested uid of each caller', () => {
    const log = agent.stderr();
    for (const user of users) {
      const uid = execFileSync('id', ['-u', user]).toString().trim();
      assert.match(log, new RegExp(`msg="Workload attested" method=FetchX509SVID pid=\\d+ uid=${uid} `));
    }
    assert.match(log, new RegExp(`selectors="[^"]*unix:user:${users[0]}[^"]*" identities=spiffe://example.org/user-a`));
  });
});
