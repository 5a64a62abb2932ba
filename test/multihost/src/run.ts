/**
 * One run of the multi-host scenarios, shared by `pnpm demo:multihost` and the test: checks the
 * prerequisites, stages the apps for the workload users, builds the topology, runs every scenario
 * and tears the topology down, also when a scenario throws or the process is interrupted.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLIENT_USER,
  SERVER_USER,
  ensureUser,
  isRoot,
  repoRoot,
  runnableRootFor,
  spireInstalled,
  type ScenarioResult,
} from '@spiffe-node/harness';
import { runFaults } from './faults.js';
import { MULTIHOST_SCENARIOS } from './scenarios.js';
import { Topology } from './topology.js';

/** Why the topology cannot run here, or undefined when it can. */
export function cannotRun(root = repoRoot()): string | undefined {
  if (!isRoot()) return 'network namespaces (ip netns) and workload users need root';
  if (!spireInstalled(root)) return 'SPIRE is not installed in this checkout: run `bash deploy/spire/install.sh`';
  if (!['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].some((p) => existsSync(p))) return 'iproute2 (`ip`) is not installed';
  if (
    !existsSync(join(root, 'apps', 'mtls-echo', 'dist', 'client.js')) ||
    !existsSync(join(root, 'test', 'multihost', 'dist', 'load.js'))
  ) {
    return 'the apps or test/multihost are not built: run `pnpm build`';
  }
  return undefined;
}

/**
 * MH_ONLY=<regular expression>: only the scenarios and fault phases whose names match, for work on
 * one of them with `pnpm demo:multihost` (the test expects every one of them, in order).
 */
function selected(): (name: string) => boolean {
  const only = process.env.MH_ONLY;
  if (!only) return () => true;
  const re = new RegExp(only, 'i');
  return (name) => re.test(name);
}

export interface RunOptions {
  /** Progress lines (topology set-up, scenario outcomes). */
  log?: (line: string) => void;
  /** Called with each result as soon as its scenario ends. */
  onResult?: (result: ScenarioResult) => void;
}

/**
 * Builds the topology, runs every scenario, then the fault phases, and tears it down; resolves with
 * the results (scenarios first, then one per fault phase).
 */
export async function runMultihost(options: RunOptions = {}): Promise<ScenarioResult[]> {
  const log = options.log ?? (() => {});
  const root = repoRoot();
  ensureUser(SERVER_USER);
  ensureUser(CLIENT_USER);
  // The load client of the fault phases is a workload of this package.
  const runnable = runnableRootFor(root, [SERVER_USER, CLIENT_USER], ['test/multihost']);
  const topology = new Topology();
  // An interrupt tears the topology down before the process ends (a second one ends it at once).
  let interrupt: NodeJS.Signals | undefined;
  const interrupted = (signal: NodeJS.Signals): void => {
    interrupt = signal;
    log(`${signal}: tearing the topology down`);
    const done = (): never => process.exit(signal === 'SIGINT' ? 130 : 143);
    void topology
      .down()
      .catch(() => undefined)
      .finally(() => {
        runnable.cleanup();
        done();
      });
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await topology.up(log);
    const results: ScenarioResult[] = [];
    const only = selected();
    for (const scenario of MULTIHOST_SCENARIOS) {
      if (interrupt) break;
      if (!only(scenario.name)) continue;
      const result = await scenario.run({ root: runnable.root, topology });
      results.push(result);
      options.onResult?.(result);
    }
    if (!interrupt) {
      log('== faults across hosts, under load ==');
      const ctx = { root: runnable.root, topology };
      results.push(...(await runFaults(ctx, options.onResult, () => interrupt !== undefined, only)));
    }
    return results;
  } finally {
    process.removeListener('SIGINT', interrupted);
    process.removeListener('SIGTERM', interrupted);
    await topology.down();
    runnable.cleanup();
  }
}
