/**
 * The seed scenarios end to end: the real apps as separate processes (as the seeds' Unix users when
 * root) against the development agent and, where it is installed, against a real SPIRE server and
 * agent. The assertions are the same on both.
 *
 * SPIFFE_E2E_AGENTS=dev,spire picks the agents (default: dev, plus spire when installed).
 * SPIFFE_REQUIRE_SPIRE=1 makes a missing SPIRE a failure instead of a skip.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENT_USER,
  DEMO_SCENARIOS,
  DevAgent,
  SERVER_USER,
  SpireAgent,
  describeResult,
  ensureUser,
  freePorts,
  isRoot,
  portEnv,
  register,
  repoRoot,
  runnableRootFor,
  spireInstalled,
  type AgentHandle,
  type ScenarioContext,
} from '@spiffe-node/harness';

const root = repoRoot();
const APPS = ['mtls-echo', 'https-mtls', 'jwt-proxy', 'grpc-greeter'];

function wanted(kind: 'dev' | 'spire'): { run: boolean; reason?: string } {
  const list = (process.env.SPIFFE_E2E_AGENTS ?? 'dev,spire').split(',').map((s) => s.trim());
  if (!list.includes(kind)) return { run: false, reason: `SPIFFE_E2E_AGENTS=${process.env.SPIFFE_E2E_AGENTS} leaves out ${kind}` };
  if (kind === 'spire') {
    if (!isRoot()) return { run: false, reason: 'SPIRE attests workloads by Unix user: these tests need root' };
    if (!spireInstalled(root) && !process.env.SPIFFE_REQUIRE_SPIRE) {
      return { run: false, reason: 'SPIRE is not installed (bash deploy/spire/install.sh); set SPIFFE_REQUIRE_SPIRE=1 to fail instead' };
    }
  }
  return { run: true };
}

for (const kind of ['dev', 'spire'] as const) {
  const choice = wanted(kind);
  describe(`seed scenarios on ${kind === 'dev' ? 'the dev agent' : 'real SPIRE'}`, { skip: choice.run ? false : choice.reason }, () => {
    let agent: AgentHandle;
    let ctx: ScenarioContext;
    let cleanup = (): void => {};

    before(async () => {
      const asUsers = isRoot();
      if (asUsers) {
        ensureUser(SERVER_USER);
        ensureUser(CLIENT_USER);
      }
      const runnable = asUsers ? runnableRootFor(root, [SERVER_USER, CLIENT_USER]) : { root, cleanup: () => {} };
      cleanup = runnable.cleanup;
      if (kind === 'dev') {
        const dev = new DevAgent({ mode: asUsers ? 'users' : 'sockets' });
        await dev.start();
        agent = dev;
      } else {
        agent = await SpireAgent.start(root, { layout: 'isolated' });
      }
      for (const app of APPS) register(root, app, agent);
      // Ports of our own, so that a demo running beside the tests does not collide with them.
      ctx = { root: runnable.root, as: (id) => agent.as(id), env: portEnv(await freePorts(2)) };
    });

    after(async () => {
      await agent?.stop();
      cleanup();
    });

    for (const scenario of DEMO_SCENARIOS) {
      it(scenario.name.replace(/([A-Z])/g, ' $1').toLowerCase(), async () => {
        const result = await scenario(ctx);
        assert.ok(result.ok, describeResult(result));
      });
    }
  });
}
