/**
 * The worker side of the command protocol of {@link CommandProcess}: one JSON command per stdin
 * line, one JSON reply per command on stdout. `{"cmd":"cpu"}` is answered for every worker with
 * process.cpuUsage() (µs, all threads of the process).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createInterface } from 'node:readline';
import type { Reply } from './proc.js';

export function reply(message: Reply): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/**
 * Answers commands in order (one at a time) until stdin closes, then calls `onClose` and exits.
 */
export function serveCommands(handle: (command: Reply) => Promise<Reply> | Reply, onClose?: () => Promise<void> | void): void {
  const lines = createInterface({ input: process.stdin });
  let queue: Promise<void> = Promise.resolve();
  lines.on('line', (line) => {
    queue = queue.then(async () => {
      let command: Reply;
      try {
        command = JSON.parse(line) as Reply;
      } catch (err) {
        reply({ error: `bad command: ${(err as Error).message}` });
        return;
      }
      if (command.cmd === 'profile-start' || command.cmd === 'profile-stop') {
        try {
          reply(await profiler(command.cmd, String(command.path ?? '')));
        } catch (err) {
          reply({ error: `profiler: ${(err as Error).message}` });
        }
        return;
      }
      if (command.cmd === 'cpu') {
        const usage = process.cpuUsage();
        reply({ user: usage.user, system: usage.system, rss: process.memoryUsage.rss() });
        return;
      }
      try {
        reply(await handle(command));
      } catch (err) {
        reply({ error: err instanceof Error ? err.message : String(err) });
      }
    });
  });
  lines.on('close', () => {
    void queue.then(async () => {
      await onClose?.();
      process.exit(0);
    });
  });
}

/** Reads `--name value` flags. */
export function flag(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (value === undefined) {
    if (fallback === undefined) throw new Error(`missing --${name}`);
    return fallback;
  }
  return value;
}

let session: Session | undefined;

function post(method: string, params?: object): Promise<Reply> {
  return new Promise((resolve, reject) => {
    session!.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result ?? {})));
  });
}

/** Starts the V8 CPU profiler in this process, or stops it and writes the .cpuprofile to `path`. */
async function profiler(cmd: 'profile-start' | 'profile-stop', path: string): Promise<Reply> {
  if (cmd === 'profile-start') {
    session ??= new Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
    return { ok: true };
  }
  if (session === undefined) throw new Error('the profiler was not started');
  const { profile } = await post('Profiler.stop');
  writeFileSync(path, JSON.stringify(profile));
  session.disconnect();
  session = undefined;
  return { ok: true, path };
}
