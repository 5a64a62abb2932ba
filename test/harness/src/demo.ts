#!/usr/bin/env node
/**
 * `pnpm demo`: starts the development agent (or, with `--agent spire`, uses the SPIRE started by
 * deploy/spire/start.sh), registers every app through its own register.sh, runs the seed
 * scenarios, the gRPC greeter's, and their failure cases as real processes, prints each step,
 * and ends with a verdict.
 *
 * As root the workloads run as the seeds' users (server-workload, client-workload), created when
 * missing. Otherwise each identity gets its own socket on the dev agent (the documented fallback).
 */
import { parseArgs } from 'node:util';
import { DevAgent, register, repoRoot, type AgentHandle } from './agents.js';
import { DEMO_SCENARIOS } from './scenarios.js';
import { spireAgent } from './spire.js';
import { CLIENT_USER, SERVER_USER, ensureUser, isRoot, runnableRootFor } from './users.js';

const APPS = ['mtls-echo', 'https-mtls', 'jwt-proxy', 'grpc-greeter'];

const { values: flags } = parseArgs({
  options: {
    agent: { type: 'string', default: process.env.SPIFFE_DEMO_AGENT ?? 'dev' },
    quiet: { type: 'boolean', default: false },
  },
});

function section(title: string): void {
  console.log(`\n== ${title} ==`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => `    ${l}`)
    .join('\n');
}

async function run(): Promise<boolean> {
  const root = repoRoot();
  const asUsers = isRoot();
  if (flags.agent !== 'dev' && flags.agent !== 'spire') throw new Error(`--agent must be dev or spire, not "${flags.agent}"`);
  if (flags.agent === 'spire' && !asUsers) throw new Error('the SPIRE demo attests workloads by Unix user: run it as root');

  section('set-up');
  if (asUsers) {
    ensureUser(SERVER_USER);
    ensureUser(CLIENT_USER);
    console.log(`workloads run as ${SERVER_USER} and ${CLIENT_USER} (runuser)`);
  } else {
    console.log('not root: no workload users; each identity gets its own socket on the dev agent');
  }
  const runnable = asUsers ? runnableRootFor(root, [SERVER_USER, CLIENT_USER]) : { root, cleanup: () => {} };
  if (runnable.root !== root) console.log(`the checkout is not readable by the workload users: apps staged in ${runnable.root}`);

  let agent: AgentHandle;
  if (flags.agent === 'spire') {
    agent = await spireAgent(root);
    console.log(`SPIRE agent socket: ${agent.socketPath}`);
  } else {
    const dev = new DevAgent({ mode: asUsers ? 'users' : 'sockets' });
    await dev.start();
    agent = dev;
    console.log(`dev agent socket: ${dev.socketPath} (trust domain example.org)`);
  }

  const results = [];
  try {
    for (const appName of APPS) {
      section(`register apps/${appName}`);
      console.log(indent(register(root, appName, agent)));
    }
    for (const scenario of DEMO_SCENARIOS) {
      const result = await scenario({ root: runnable.root, as: (id) => agent.as(id) });
      results.push(result);
      section(result.name);
      if (!flags.quiet) {
        for (const { name, output } of result.outputs) {
          console.log(`  [${name}]`);
          console.log(indent(output) || '    (no output)');
        }
      }
      for (const c of result.checks) console.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}`);
    }
  } finally {
    await agent.stop();
    runnable.cleanup();
  }

  section('verdict');
  for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}`);
  const passed = results.filter((r) => r.ok).length;
  const ok = passed === DEMO_SCENARIOS.length;
  console.log(
    `\n${ok ? 'All' : 'Only'} ${passed} of ${DEMO_SCENARIOS.length} scenarios behaved as the apps' READMEs describe${ok ? '.' : ': see FAIL above.'}`,
  );
  return ok;
}

run().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
