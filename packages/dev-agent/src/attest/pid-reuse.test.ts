/**
 * A connection must be attested as the process that made it, never as whichever process has its
 * PID when the agent looks. `SO_PEERCRED` gives a PID number, kept after the caller exits; the
 * start time read at accept only refuses a process that started after the accept. Between
 * connect() and accept (a loaded agent, a full accept queue) a caller can connect, hand the
 * connection to another process, exit, and have its PID taken by another process, whose
 * selectors the connection then gets: the attacker's own process running a binary it was not
 * running when it connected, or a same-uid service with groups or an executable the attacker
 * does not have.
 *
 * The attacker is a real Python process that cycles the PID space by forking until a child gets
 * the PID of the process that connected, and has that child exec the trusted binary. To make this
 * take a few hundred forks rather than tens of thousands, the agent and the attacker run in a PID
 * namespace whose `pid_max` is 1000 (per-namespace `pid_max`, Linux 6.14+). The accept is held
 * back by stopping the agent (SIGSTOP, then SIGCONT once the PID has been taken): on a busy host
 * the scheduler does the same, only not on cue.
 *
 * The defence: the agent asks the kernel (`SO_PEERPIDFD`) whether the process that connected
 * still has the PID, after every read of `/proc/<pid>`.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../admin/client.js';
import { startAgentProcess, tempDir, type AgentProcess } from '../testing/agent-process.js';
import { RAW_CLIENT_SCRIPT, type RawClientResult as ClientResult } from '../testing/raw-client.js';

/** Runs a command in a new PID namespace, with its own /proc; killed with its launcher. */
const NAMESPACE = ['unshare', '--pid', '--mount', '--mount-proc', '--kill-child=SIGTERM', '--'];
/** The namespace's `pid_max`: PIDs up to 1000, from 300 again once they wrap. */
const PID_MAX = 1000;

function skipReason(): string | false {
  if (process.platform !== 'linux') return 'peer-credential attestation is Linux-only';
  if (process.getuid?.() !== 0) return 'needs root: it runs the agent in a new PID namespace';
  try {
    execFileSync('python3', ['-c', '']);
  } catch {
    return 'the attacker is a Python script and python3 is not on PATH';
  }
  const probe = spawnSync(NAMESPACE[0]!, [...NAMESPACE.slice(1), 'sh', '-c', `echo ${PID_MAX} > /proc/sys/kernel/pid_max`]);
  if (probe.error !== undefined || probe.status !== 0) {
    return `no PID namespace with its own pid_max here (unshare, Linux 6.14+): ${probe.error?.message ?? probe.stderr.toString().trim()}`;
  }
  return false;
}
const skip = skipReason();

/**
 * The attacker, in the agent's PID namespace. It moves past the PIDs below 300 (never handed
 * out again after a wrap), has a child connect and exit (the agent is stopped: the connection
 * waits in its accept queue), then forks until a child gets that PID again: that child execs node,
 * the binary the entry trusts. Then it prints `reused <pid>` and runs the client on the
 * connection it kept.
 */
const ATTACKER = String.raw`
import os, socket, sys, time
sock_path, node, client = sys.argv[1:4]
while True:
    p = os.fork()
    if p == 0:
        os._exit(0)
    os.waitpid(p, 0)
    if p >= 300:
        break
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
connector = os.fork()
if connector == 0:
    s.connect(sock_path)
    os._exit(0)
os.waitpid(connector, 0)
s.getpeername()
while True:
    p = os.fork()
    if p == 0:
        if os.getpid() == connector:
            os.execv(node, [node, '-e', 'setTimeout(() => {}, 60000)'])
        os._exit(0)
    if p == connector:
        break
    os.waitpid(p, 0)
while os.readlink('/proc/%d/exe' % connector) != node:
    time.sleep(0.01)
print('reused %d' % connector, flush=True)
fd = s.fileno()
os.set_inheritable(fd, True)
os.execv(node, [node, client, '--fd', str(fd)])
`;

describe('attestation of a connection whose process exited and whose PID was taken before the accept', { skip }, () => {
  const dir = tempDir();
  const node = realpathSync(process.execPath);
  const attacker = join(dir.path, 'attacker.py');
  const client = join(dir.path, 'client.mjs');
  let agent: AgentProcess;
  /** The agent's PID outside its namespace (the launcher's child). */
  let agentPid: number;

  before(async () => {
    writeFileSync(attacker, ATTACKER);
    writeFileSync(client, RAW_CLIENT_SCRIPT);
    agent = await startAgentProcess(
      dir.path,
      [],
      [...NAMESPACE, 'sh', '-c', `echo ${PID_MAX} > /proc/sys/kernel/pid_max && exec "$0" "$@"`],
    );
    const launcher = agent.child.pid!;
    agentPid = Number(readFileSync(`/proc/${launcher}/task/${launcher}/children`, 'utf8').trim().split(' ')[0]);
    assert.ok(agentPid > 0, "the agent runs as the launcher's child");
    await new AdminClient(agent.adminSocketPath).createEntry({
      spiffeId: 'spiffe://example.org/node-workload',
      selectors: [`unix:path:${node}`, `unix:uid:${process.getuid!()}`],
    });
  });

  after(async () => {
    // unshare ignores SIGTERM while it waits for its child: the agent itself is told to stop.
    if (agentPid > 0) {
      process.kill(agentPid, 'SIGCONT');
      process.kill(agentPid, 'SIGTERM');
    }
    await agent?.stop();
    dir.remove();
  });

  /**
   * Runs `args` in the agent's PID (and /proc) namespace; `onLine` sees each line it prints and
   * returns the result once it has one. Everything it started is killed afterwards.
   */
  const inNamespace = <T>(args: readonly string[], onLine: (line: string) => T | undefined): Promise<T> =>
    new Promise((resolve, reject) => {
      const child = spawn('nsenter', ['-t', String(agentPid), '--pid', '--mount', '--', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let out = '';
      let err = '';
      const timer = setTimeout(() => finish(new Error(`no answer from ${args.join(' ')}: ${out} ${err}`)), 60_000);
      const finish = (e: Error | undefined, result?: T): void => {
        clearTimeout(timer);
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
        if (e) reject(e);
        else resolve(result!);
      };
      let seen = 0;
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n');
        for (const line of lines.slice(seen, -1)) {
          const result = onLine(line);
          if (result !== undefined) return finish(undefined, result);
        }
        seen = lines.length - 1;
      });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('exit', (code) => finish(new Error(`${args.join(' ')} exited with ${code}: ${out} ${err}`)));
    });

  const jsonLine = (line: string): ClientResult | undefined => (line.startsWith('{') ? (JSON.parse(line) as ClientResult) : undefined);

  it('serves the trusted binary in the namespace (the control)', async () => {
    assert.deepEqual(await inNamespace([node, client, agent.socketPath], jsonLine), { ids: ['spiffe://example.org/node-workload'] });
  });

  it('refuses the connection when its PID names another process by the time it is accepted', async () => {
    let pid = 0;
    process.kill(agentPid, 'SIGSTOP');
    let result: ClientResult;
    try {
      result = await inNamespace(['python3', attacker, agent.socketPath, node, client], (line) => {
        const reused = /^reused (\d+)$/.exec(line);
        if (reused !== null) {
          pid = Number(reused[1]);
          process.kill(agentPid, 'SIGCONT');
          return undefined;
        }
        return jsonLine(line);
      });
    } finally {
      process.kill(agentPid, 'SIGCONT');
    }
    assert.ok(pid > 0, 'the attacker took the PID back');
    assert.deepEqual(result, { status: 7, message: 'no identity issued' });
    assert.ok(
      agent
        .stderr()
        .includes(
          `msg="Refused a workload connection whose process cannot be identified" reason="the process that connected (pid ${pid}) has exited; its connection is held by another process"`,
        ),
      agent.stderr(),
    );
  });
});
