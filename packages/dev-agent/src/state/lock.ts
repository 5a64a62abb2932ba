/**
 * A lock on the data directory, so two agents never write the same state.
 *
 * @module
 */
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { DevAgentError } from '../errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock (`<dataDir>/agent.lock`, holding the PID); a lock left by a process that is
 * gone is taken over.
 *
 * @returns a function that releases it.
 * @throws {@link DevAgentError} `ERR_AGENT_STATE` if a live agent holds it.
 * @example
 * ```ts
 * const release = await lockDataDir('/tmp/spiffe-dev-agent/data');
 * await release();
 * ```
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, 'agent.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        const text = await fs.readFile(file, 'utf8').catch(() => '');
        if (Number(text.trim()) === process.pid) await fs.rm(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new DevAgentError(
          'ERR_AGENT_STATE',
          `the data directory ${dataDir} is in use by another agent (pid ${pid}); stop it or use another -dataDir`,
        );
      }
      if (pid === process.pid) {
        throw new DevAgentError(
          'ERR_AGENT_STATE',
          `the data directory ${dataDir} is in use by another agent in this process; use another dataDir`,
        );
      }
      await fs.rm(file, { force: true });
    }
  }
  throw new DevAgentError('ERR_AGENT_STATE', `cannot lock the data directory ${dataDir}`);
}
