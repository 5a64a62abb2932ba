/**
 * A reader's terminal, for one README: a bash session at the repository root, in a mount
 * namespace of its own whose /tmp is a fresh empty folder (so `/tmp/spiffe-dev-agent`,
 * `/tmp/svids` and the like are the README's paths, and nothing of the machine's /tmp is seen or
 * left behind) and whose checkout is an overlay of the real one (what the commands write there,
 * keys, certificates, edited configuration, is thrown away with the session; HOME is a fresh
 * folder too). Commands are typed into the session one by one: `cd` and `export` carry over, as
 * in a terminal.
 *
 * Needs root (the namespace; the READMEs run workloads as their own users with `runuser`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { firstMissing } from './match.js';

/** What a command did. */
export interface Ran {
  readonly code: number | null;
  readonly output: string;
}

/** A command running in the background (a server). */
export interface Background {
  readonly pid: number;
  /** What it printed so far. */
  output(): string;
  exited(): boolean;
}

/** The variables a reader's shell would not have: the test runner's own. */
const DROPPED_ENV = /^(SPIFFE_|SPIRE_|NODE_TEST|NODE_OPTIONS$|TEST_|npm_|PNPM_SCRIPT|INIT_CWD$)/;

export class Session {
  readonly #tmp: string;
  readonly #holder: ChildProcess;
  readonly #shell: ChildProcess;
  readonly #background = new Map<string, Background>();
  #count = 0;

  private constructor(tmp: string, holder: ChildProcess, shell: ChildProcess) {
    this.#tmp = tmp;
    this.#holder = holder;
    this.#shell = shell;
  }

  /** Opens a session at `root` (the repository) with a private, empty /tmp. */
  static async open(root: string): Promise<Session> {
    const tmp = mkdtempSync(join(tmpdir(), 'spiffe-node-readme-'));
    chmodSync(tmp, 0o1777);
    mkdirSync(join(tmp, '.readme-test'), { mode: 0o700 });
    mkdirSync(join(tmp, 'home'), { mode: 0o755 });
    const layer = join(tmp, '.readme-test', 'checkout');
    mkdirSync(join(layer, 'upper'), { recursive: true });
    mkdirSync(join(layer, 'work'));
    const script = [
      'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$1"',
      // A checkout under /tmp (CI clones there) would vanish behind the private /tmp: it is
      // bound in at its own path inside the new /tmp first, and the new /tmp comes with it.
      'case "$1" in /tmp/*) mkdir -p "$3/${1#/tmp/}" && mount --bind "$1" "$3/${1#/tmp/}";; esac',
      'mount --rbind "$3" /tmp',
      'echo ready',
      'exec sleep 86400',
    ].join(' && ');
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', root, layer, tmp], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let said = '';
    holder.stdout.setEncoding('utf8').on('data', (c: string) => (said += c));
    holder.stderr.setEncoding('utf8').on('data', (c: string) => (said += c));
    for (let i = 0; !said.includes('ready'); i++) {
      if (holder.exitCode !== null || i > 200) {
        holder.kill('SIGKILL');
        rmSync(tmp, { recursive: true, force: true });
        throw new Error(`cannot make a private /tmp and checkout (unshare --mount, overlay): ${said.trim() || `exit ${holder.exitCode}`}`);
      }
      await sleep(50);
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !DROPPED_ENV.test(k)) env[k] = v;
    Object.assign(env, { HOME: '/tmp/home', FORCE_COLOR: '0', NO_COLOR: '1', TERM: 'dumb' });
    // npm's cache stays the machine's (a reader's npm has one): the copied apps install from it.
    env.npm_config_cache = process.env.npm_config_cache ?? join(homedir(), '.npm');
    // What the cache already holds is not asked for again, and no audit or funding requests:
    // the commands stay as shown, only npm's network round trips go (CI time).
    Object.assign(env, { npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' });
    const shell = spawn('nsenter', ['-t', String(holder.pid), '-m', '--', 'bash', '--noprofile', '--norc', '-s'], {
      cwd: root,
      env,
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    const session = new Session(tmp, holder, shell);
    await session.run(`cd ${JSON.stringify(root)}`);
    return session;
  }

  /** The real path of a path in the session's /tmp. */
  private stage(name: string): string {
    return join(this.#tmp, '.readme-test', name);
  }

  /** Types a command and waits until it ends (`timeoutMs`: then it fails, and the session is unusable). */
  async run(command: string, timeoutMs = 180_000): Promise<Ran> {
    const n = ++this.#count;
    writeFileSync(this.stage(`cmd-${n}.sh`), `${command}\n`);
    const at = `/tmp/.readme-test`;
    this.#shell.stdin!.write(
      `. ${at}/cmd-${n}.sh > ${at}/out-${n} 2>&1 < /dev/null; echo $? > ${at}/rc-${n}.part && mv ${at}/rc-${n}.part ${at}/rc-${n}\n`,
    );
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(this.stage(`rc-${n}`))) {
      if (this.#shell.exitCode !== null) throw new Error(`the shell ended (exit ${this.#shell.exitCode}) while running: ${command}`);
      if (Date.now() > deadline) {
        return { code: null, output: `${this.read(`out-${n}`)}\n(still running after ${timeoutMs / 1000} s)` };
      }
      await sleep(100);
    }
    return { code: Number(readFileSync(this.stage(`rc-${n}`), 'utf8').trim()), output: this.read(`out-${n}`) };
  }

  private read(name: string): string {
    return existsSync(this.stage(name)) ? readFileSync(this.stage(name), 'utf8') : '';
  }

  /**
   * Starts a command in the background, in a process group of its own, as `key` (the program it
   * runs): a command started earlier as the same key is stopped first, as a reader stops a
   * server before starting it again.
   */
  async start(command: string, key: string): Promise<Background> {
    const earlier = this.#background.get(key);
    if (earlier) await this.stop(earlier);
    const n = ++this.#count;
    writeFileSync(this.stage(`cmd-${n}.sh`), `${command}\n`);
    const at = `/tmp/.readme-test`;
    const started = await this.run(`setsid bash ${at}/cmd-${n}.sh > ${at}/out-${n} 2>&1 < /dev/null & echo $! > ${at}/pid-${n}`);
    if (started.code !== 0) throw new Error(`cannot start in the background: ${command}\n${started.output}`);
    const pid = Number(readFileSync(this.stage(`pid-${n}`), 'utf8').trim());
    const job: Background = {
      pid,
      output: () => this.read(`out-${n}`),
      // The process itself: its group exists only once setsid has run.
      exited: () => !alive(pid, false),
    };
    this.#background.set(key, job);
    return job;
  }

  /** Waits until a background command shows `lines` (in order); the reason it did not, if not. */
  async waitFor(job: Background, lines: readonly string[], timeoutMs = 120_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = firstMissing(lines, job.output());
      if (missing === undefined) return undefined;
      if (job.exited()) {
        await sleep(200);
        if (firstMissing(lines, job.output()) === undefined) return undefined;
        return `it exited without showing ${JSON.stringify(missing)}`;
      }
      if (Date.now() > deadline) return `it did not show ${JSON.stringify(missing)} within ${timeoutMs / 1000} s`;
      await sleep(100);
    }
  }

  /** Stops a background command and its children (SIGTERM, then SIGKILL). */
  async stop(job: Background): Promise<void> {
    for (const [key, j] of this.#background) if (j === job) this.#background.delete(key);
    signal(job.pid, 'SIGTERM');
    for (let i = 0; i < 100 && (alive(job.pid) || alive(job.pid, false)); i++) await sleep(50);
    signal(job.pid, 'SIGKILL');
  }

  /** Stops everything, ends the namespace and removes the session's /tmp. */
  async close(): Promise<void> {
    for (const job of [...this.#background.values()]) await this.stop(job);
    this.#shell.stdin!.end();
    for (let i = 0; i < 50 && this.#shell.exitCode === null; i++) await sleep(50);
    if (this.#shell.exitCode === null) this.#shell.kill('SIGKILL');
    this.#holder.kill('SIGKILL');
    for (let i = 0; i < 50 && this.#holder.exitCode === null; i++) await sleep(50);
    rmSync(this.#tmp, { recursive: true, force: true });
  }
}

/** Whether the process group `pid` (or, with `group` false, the process) still has a process. */
function alive(pid: number, group = true): boolean {
  try {
    process.kill(group ? -pid : pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals the process group `pid`, and the process itself (in case it has not made its group yet). */
function signal(pid: number, sig: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, sig);
    } catch {
      // already gone
    }
  }
}
