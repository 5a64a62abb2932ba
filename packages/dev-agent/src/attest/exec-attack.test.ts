/**
 * A caller that connects to the Workload API and then changes the executable behind its PID
 * (`execve` keeps the PID, the start time and the socket) must not get the selectors of the
 * binary it execs. The attackers are real processes: a Python script that connects, waits until
 * the agent has accepted the connection, then execs (or forks and execs) node, the binary an
 * entry trusts by `unix:path`, while the descriptor stays open.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../admin/client.js';
import { runCommand, startAgentProcess, tempDir, type AgentProcess } from '../testing/agent-process.js';
import { RAW_CLIENT_SCRIPT, type RawClientResult as ClientResult } from '../testing/raw-client.js';

function findPython(): string | undefined {
  try {
    return execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim();
  } catch {
    return undefined;
  }
}

const python = findPython();
const skip =
  process.platform !== 'linux'
    ? 'peer-credential attestation is Linux-only'
    : python === undefined
      ? 'the attackers are Python scripts and python3 is not on PATH'
      : false;

/**
 * The attacker. It connects to the socket, waits until the agent's HTTP/2 SETTINGS frame arrives
 * (so the agent has accepted the connection and recorded the caller), peeking so the bytes stay
 * for the next image, then runs the attack its first argument names:
 * - exec: execs node (the trusted binary) running the client on the descriptor;
 * - thread-exec: the same from a second thread (the kernel makes that thread the leader, with the
 *   process's PID and start time);
 * - fork-exec: a child keeps the descriptor and runs the client once this process has exec'd node
 *   (which just sleeps): the caller the kernel recorded now looks like node;
 * - exit: a child inherits the descriptor, this process exits, the child execs node and runs the client.
 */
const ATTACKER = String.raw`
import os, socket, sys, time
mode, sock_path, node, client = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock_path)
s.recv(1, socket.MSG_PEEK)
fd = s.fileno()
os.set_inheritable(fd, True)
if mode == 'exec':
    os.execv(node, [node, client, '--fd', str(fd)])
if mode == 'thread-exec':
    import threading
    thread = threading.Thread(target=os.execv, args=(node, [node, client, '--fd', str(fd)]))
    thread.start()
    thread.join()
parent = os.getpid()
pid = os.fork()
if mode == 'fork-exec':
    if pid == 0:
        while os.readlink('/proc/%d/exe' % parent) != node:
            time.sleep(0.01)
        os.execv(node, [node, client, '--fd', str(fd)])
    os.set_inheritable(fd, False)
    os.execv(node, [node, '-e', 'setTimeout(() => {}, 60000)'])
if mode == 'exit':
    if pid == 0:
        while os.path.exists('/proc/%d' % parent):
            time.sleep(0.01)
        os.execv(node, [node, client, '--fd', str(fd)])
    os._exit(0)
`;

describe('attestation of a caller that execs after connecting', { skip }, () => {
  const dir = tempDir();
  const node = realpathSync(process.execPath);
  const attacker = join(dir.path, 'attacker.py');
  const client = join(dir.path, 'client.mjs');
  let agent: AgentProcess;

  before(async () => {
    writeFileSync(attacker, ATTACKER);
    writeFileSync(client, RAW_CLIENT_SCRIPT);
    agent = await startAgentProcess(dir.path);
    // The trusted workload: node, run by this uid.
    await new AdminClient(agent.adminSocketPath).createEntry({
      spiffeId: 'spiffe://example.org/node-workload',
      selectors: [`unix:path:${node}`, `unix:uid:${process.getuid!()}`],
    });
  });

  after(async () => {
    await agent?.stop();
    dir.remove();
  });

  /**
   * Runs the attacker and returns the first JSON line the client prints (then kills what is
   * left), and the PID of the process that connected.
   */
  const attack = (mode: string): Promise<{ result: ClientResult; pid: number }> =>
    new Promise((resolve, reject) => {
      const child = spawn(python!, [attacker, mode, agent.socketPath, node, client], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => finish(new Error(`no answer from the attacker (${mode}): ${out} ${err}`)), 30_000);
      const finish = (e: Error | undefined, result?: ClientResult): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        if (e) reject(e);
        else resolve({ result: result!, pid: child.pid! });
      };
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line !== undefined && out.includes('\n')) finish(undefined, JSON.parse(line) as ClientResult);
      });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    });

  it('serves the trusted binary itself (the entry matches node)', async () => {
    const res = await runCommand(node, [client, agent.socketPath]);
    assert.deepEqual(JSON.parse(res.stdout), { ids: ['spiffe://example.org/node-workload'] });
  });

  /** The agent's log line refusing the caller `pid`, or undefined. */
  const refusal = (pid: number): string | undefined =>
    agent
      .stderr()
      .split('\n')
      .find((l) => l.includes(`msg="Refused a workload whose process changed since it connected" pid=${pid} `));

  it("refuses a caller that connected as another binary and then exec'd the trusted one", async () => {
    const { result, pid } = await attack('exec');
    assert.deepEqual(result, { status: 7, message: 'no identity issued' });
    assert.match(refusal(pid) ?? '', /change="executable changed from \S*python\S* to \S*node"/);
  });

  it("refuses a caller whose second thread exec'd the trusted binary after connecting", async () => {
    const { result, pid } = await attack('thread-exec');
    assert.deepEqual(result, { status: 7, message: 'no identity issued' });
    assert.match(refusal(pid) ?? '', /change="executable changed from \S*python\S* to \S*node"/);
  });

  it("refuses a forked child holding the connection of a parent that exec'd the trusted binary", async () => {
    const { result, pid } = await attack('fork-exec');
    assert.deepEqual(result, { status: 7, message: 'no identity issued' });
    assert.match(refusal(pid) ?? '', /change="executable changed from \S*python\S* to \S*node"/);
  });

  it('refuses the connection of a caller that has exited, whoever uses it', async () => {
    const { result, pid } = await attack('exit');
    assert.deepEqual(result, { status: 7, message: 'no identity issued' });
    assert.match(refusal(pid) ?? '', new RegExp(`change="process ${pid} has exited; its connection is held by another process"`));
  });
});
