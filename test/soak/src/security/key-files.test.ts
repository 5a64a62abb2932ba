/**
 * Private keys on disk: the dev agent's data files and the `spiffe` CLI's `api fetch x509 -write`
 * key files are created 0600 (with umask 000, so nothing but the program's own choice decides),
 * are never made group or world readable afterwards, and end 0600 in a 0700 folder.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { devAgentDir } from '@spiffe-node/harness';
import { poll } from '@spiffe-node/test-kit';
import { findDescendant } from '../soak/proc.js';
import { modesBelow, traceFileModes, type ModeEvent, type TracedRun } from './file-modes.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const SPIRE_SERVER = join(devAgentDir(), 'bin', 'spire-server');
const SPIFFE_CLI = join(ROOT, 'packages', 'cli', 'bin', 'spiffe.js');

const octal = (mode: number): string => `0${mode.toString(8)}`;

function describeEvents(events: readonly ModeEvent[]): string {
  return events.map((e) => `  ${e.op} ${e.path} ${octal(e.mode)}`).join('\n');
}

function cli(args: string[], admin: string): string {
  const r = spawnSync(SPIRE_SERVER, [...args, '-socketPath', admin], { encoding: 'utf8' });
  assert.equal(r.status, 0, `spire-server ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

let dir: string;
let traced: TracedRun;
const admin = (): string => join(dir, 'private', 'admin.sock');
const clientSocket = (): string => join(dir, 'public', 'client.sock');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spiffe-keyfiles-'));
  spawnSync('chmod', ['0755', dir]);
  traced = traceFileModes(
    process.execPath,
    [
      join(devAgentDir(), 'bin', 'spiffe-dev-agent.js'),
      'run',
      '-socketPath',
      join(dir, 'public', 'api.sock'),
      '-adminSocketPath',
      admin(),
      '-dataDir',
      join(dir, 'data'),
      '-trustDomain',
      'example.org',
      '-federatedTrustDomain',
      'partner.org',
      '-identitySocket',
      `spiffe://example.org/client=${clientSocket()}`,
    ],
    join(dir, 'data'),
    join(dir, 'agent.strace'),
  );
  let output = '';
  traced.child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  traced.child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  await poll(
    `the agent to be healthy (output: ${output})`,
    () => existsSync(clientSocket()) && spawnSync(SPIRE_SERVER, ['healthcheck', '-socketPath', admin()]).status === 0,
    (healthy) => healthy,
    { timeoutMs: 20_000, intervalMs: 50 },
  );
  // Make it write: an entry, new JWT keys, re-minted SVIDs.
  cli(
    ['entry', 'create', '-spiffeID', 'spiffe://example.org/client', '-parentID', 'spiffe://example.org/host', '-selector', 'unix:uid:0'],
    admin(),
  );
  for (const kind of ['jwt', 'x509']) {
    const r = spawnSync(process.execPath, [join(devAgentDir(), 'bin', 'spiffe-dev-agent.js'), 'rotate', kind, '-socketPath', admin()], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
  }
});

after(async () => {
  const pid = findDescendant(['spiffe-dev-agent.js', dir]);
  if (pid !== undefined) process.kill(pid, 'SIGTERM');
  await new Promise((resolve) => (traced.child.exitCode !== null ? resolve(undefined) : traced.child.once('exit', resolve)));
  traced.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('private key files', () => {
  it('the dev agent creates every data file 0600 and never opens one up to other users, even briefly', async () => {
    // The entry and rotations above were acknowledged, so their files are written.
    await sleep(200);
    const events = traced.events();
    const created = events.filter((e) => /O_CREAT|creat/.test(e.op));
    assert.ok(created.length >= 3, `the agent created its state files (${traced.method}):\n${describeEvents(events)}`);
    for (const e of events) {
      assert.equal(
        e.mode & 0o077,
        0,
        `${traced.method}: ${e.op} ${e.path} with mode ${octal(e.mode)}: group or others could read it\n${describeEvents(events)}`,
      );
    }
    const data = join(dir, 'data');
    assert.equal(statSync(data).mode & 0o777, 0o700, 'the data folder is 0700');
    const files = modesBelow(data);
    assert.ok(
      files.some((f) => !f.isDir),
      'there are data files',
    );
    for (const f of files) assert.equal(f.mode & 0o077, 0, `${f.path} ends ${octal(f.mode)}`);
  });

  it('spiffe api fetch x509 -write: the key file is 0600 from its creation, certificates 0644', async () => {
    assert.ok(existsSync(SPIFFE_CLI), 'packages/cli is built');
    const out = join(dir, 'svids');
    const run = traceFileModes(
      process.execPath,
      [SPIFFE_CLI, 'api', 'fetch', 'x509', '-socketPath', clientSocket(), '-write', out, '-silent'],
      out,
      join(dir, 'cli.strace'),
    );
    let output = '';
    run.child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    run.child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((resolve) => run.child.once('exit', resolve));
    run.stop();
    assert.equal(code, 0, output);
    const events = run.events();
    const keyEvents = events.filter((e) => /svid\.0\.key/.test(e.path));
    assert.ok(keyEvents.length >= 1, `the key file's creation was observed (${run.method}):\n${describeEvents(events)}`);
    for (const e of events) {
      if (/\.key/.test(e.path) || e.op.startsWith('mkdir')) {
        assert.equal(e.mode & 0o077, 0, `${run.method}: ${e.op} ${e.path} with mode ${octal(e.mode)}\n${describeEvents(events)}`);
      }
    }
    assert.equal(statSync(join(out, 'svid.0.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(out, 'svid.0.pem')).mode & 0o777, 0o644);
    assert.equal(statSync(out).mode & 0o777, 0o700, 'the folder it made is 0700');
  });
});
