// The control plane of deploy/compose, run here without containers: the real SPIRE server with
// deploy/compose/spire/server.conf, the one-shots' scripts (bootstrap.sh, register-apps.sh), and
// the real agent with deploy/compose/spire/agent.conf and the join token and bundle bootstrap.sh
// wrote. Every container path is mapped the way compose maps it: each named volume is one scratch
// directory, shared by the services that mount it; the compose network's name spire-server is
// 127.0.0.1 and the server port a free one. Then deploy/k8s/register.sh against the same server.
// Without the binaries: skipped with the reason, unless SPIFFE_REQUIRE_SPIRE is set (CI).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ComposeFile, composeDir, flagValue } from './lib/compose.js';
import { freePort, waitFor } from './lib/net.js';
import { deployDir, describeRun, read, repoRoot, run, type RunResult } from './lib/repo.js';
import { hclSetting, spireAgentBin, spireServerBin, spireSkip } from './lib/spire.js';
import { shellArray, shellDefaults } from './lib/wiring.js';

const compose = new ComposeFile();
const trustDomain = 'example.org';
const nodeAlias = `spiffe://${trustDomain}/host`;

interface Entry {
  id: string;
  spiffe_id: { trust_domain: string; path: string };
  parent_id: { trust_domain: string; path: string };
  selectors: { type: string; value: string }[];
}
const idString = (id: { trust_domain: string; path: string }): string => `spiffe://${id.trust_domain}${id.path}`;

describe('the compose control plane on the real SPIRE binaries', { skip: spireSkip }, () => {
  let scratch = '';
  let volumes = '';
  let serverSocket = '';
  let agentSocket = '';
  let bootstrapDir = '';
  let serverPort = 0;
  let agentConfig = '';
  let joinTokenFile = '';
  const children: ChildProcess[] = [];
  let agent: ChildProcess | undefined;

  const server = (args: string[]): Promise<RunResult> => run(spireServerBin, [...args, '-socketPath', serverSocket]);
  const entries = async (spiffeId?: string): Promise<Entry[]> => {
    const result = await server(['entry', 'show', ...(spiffeId ? ['-spiffeID', spiffeId] : []), '-output', 'json']);
    assert.equal(result.code, 0, describeRun('entry show', result));
    return (JSON.parse(result.stdout) as { entries?: Entry[] }).entries ?? [];
  };
  const toolEnv = (service: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SPIRE_SERVER: spireServerBin,
    // The one-shot's own SPIRE_SERVER_SOCKET, through its own mount of the socket volume.
    SPIRE_SERVER_SOCKET: compose.hostPath(service, compose.env(service).SPIRE_SERVER_SOCKET ?? '', volumes),
    ...extra,
  });
  const bootstrap = (extra: Record<string, string> = {}): Promise<RunResult> =>
    run('bash', [join(composeDir, 'bootstrap.sh')], { env: toolEnv('spire-bootstrap', { BOOTSTRAP_DIR: bootstrapDir, ...extra }) });

  function start(bin: string, args: string[], log: string): ChildProcess {
    const chunks: Buffer[] = [];
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', (err) => chunks.push(Buffer.from(`${bin} did not start: ${err.message}\n`)));
    child.stdout?.on('data', (c: Buffer) => chunks.push(c));
    child.stderr?.on('data', (c: Buffer) => chunks.push(c));
    child.on('exit', () => void writeFile(log, Buffer.concat(chunks)).catch(() => undefined));
    children.push(child);
    return child;
  }

  async function stop(child: ChildProcess | undefined): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** A config with its container paths mapped onto the scratch volumes; fails on any path left. */
  async function mapConfig(service: string, text: string, replacements: Record<string, string>, name: string): Promise<string> {
    let out = text.replace(/^\s*#.*$/gm, '');
    for (const [from, to] of Object.entries(replacements)) out = out.split(`"${from}"`).join(`"${to}"`);
    out = out.replace(/"(\/[^"]*)"/g, (whole, path: string) =>
      path.startsWith(scratch) ? whole : `"${compose.hostPath(service, path, volumes)}"`,
    );
    const file = join(scratch, name);
    await writeFile(file, out);
    return file;
  }

  before(async () => {
    for (const bin of [spireServerBin, spireAgentBin]) {
      assert.ok(existsSync(bin), `${bin} is missing (SPIFFE_REQUIRE_SPIRE is set): run deploy/spire/install.sh`);
    }
    scratch = await mkdtemp('/tmp/sdf-');
    volumes = join(scratch, 'v');
    for (const name of Object.keys((compose.body.volumes as Record<string, unknown>) ?? {}))
      await mkdir(join(volumes, name), { recursive: true });
    serverPort = await freePort();

    // spire-server, as compose runs it: its config with host paths, the same command line.
    const serverConfText = read(compose.boundFile('spire-server', flagValue(compose.command('spire-server'), '-config')));
    serverSocket = compose.hostPath('spire-server', hclSetting(serverConfText, 'socket_path') ?? '', volumes);
    const serverConfig = await mapConfig(
      'spire-server',
      serverConfText,
      { '0.0.0.0': '127.0.0.1', [hclSetting(serverConfText, 'bind_port') ?? '']: String(serverPort) },
      'server.conf',
    );
    const serverArgs = compose
      .command('spire-server')
      .map((a) => (a === flagValue(compose.command('spire-server'), '-config') ? serverConfig : a));
    start(spireServerBin, ['run', ...serverArgs], join(scratch, 'server.log'));
    await waitFor('spire-server to be healthy', async () => (await server(['healthcheck'])).code === 0);

    bootstrapDir = compose.hostPath('spire-bootstrap', shellDefaults(read(join(composeDir, 'bootstrap.sh'))).BOOTSTRAP_DIR ?? '', volumes);

    const agentConfText = read(compose.boundFile('spire-agent', flagValue(compose.command('spire-agent'), '-config')));
    agentSocket = compose.hostPath('spire-agent', hclSetting(agentConfText, 'socket_path') ?? '', volumes);
    agentConfig = await mapConfig(
      'spire-agent',
      agentConfText,
      { 'spire-server': '127.0.0.1', [hclSetting(agentConfText, 'server_port') ?? '']: String(serverPort) },
      'agent.conf',
    );
    joinTokenFile = compose.hostPath('spire-agent', flagValue(compose.command('spire-agent'), '-joinTokenFile'), volumes);
  });

  after(async () => {
    for (const child of children.reverse()) await stop(child);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const agentArgs = (): string[] =>
    compose
      .command('spire-agent')
      .map((a) =>
        a === flagValue(compose.command('spire-agent'), '-config')
          ? agentConfig
          : a === flagValue(compose.command('spire-agent'), '-joinTokenFile')
            ? joinTokenFile
            : a,
      );
  const agentHealthy = async (): Promise<boolean> => (await run(spireAgentBin, ['healthcheck', '-socketPath', agentSocket])).code === 0;

  test('bootstrap.sh refuses to run without the server or without its volume', async () => {
    const noServer = await bootstrap({ SPIRE_SERVER_SOCKET: join(scratch, 'nothing.sock') });
    assert.notEqual(noServer.code, 0);
    assert.match(noServer.stderr, /the SPIRE server does not answer on/);
    const noVolume = await bootstrap({ BOOTSTRAP_DIR: join(scratch, 'missing') });
    assert.notEqual(noVolume.code, 0);
    assert.match(noVolume.stderr, /is not a writable directory/);
  });

  let firstToken = '';
  test('bootstrap.sh writes the server bundle and a join token for the node alias', async () => {
    const result = await bootstrap();
    assert.equal(result.code, 0, describeRun('bootstrap.sh', result));
    const pem = await readFile(join(bootstrapDir, 'bundle.pem'), 'utf8');
    const shown = await server(['bundle', 'show']);
    assert.equal(pem, shown.stdout, "bundle.pem is the server's bundle");
    const ca = new X509Certificate(pem);
    assert.equal(ca.ca, true);
    assert.match(ca.toLegacyObject().subjectaltname ?? '', new RegExp(`URI:spiffe://${trustDomain}`));
    firstToken = (await readFile(join(bootstrapDir, 'join_token'), 'utf8')).trim();
    assert.match(firstToken, /^[0-9a-f-]{36}$/);
    assert.equal(statSync(join(bootstrapDir, 'join_token')).mode & 0o777, 0o600);
    const aliases = await entries(nodeAlias);
    assert.deepEqual(
      aliases.map((e) => idString(e.parent_id)),
      [`spiffe://${trustDomain}/spire/agent/join_token/${firstToken}`],
    );
  });

  test("register-apps.sh runs every app's register.sh, and again without duplicates", async () => {
    const env = toolEnv('spire-register', { APPS_DIR: join(repoRoot, 'apps') });
    const first = await run('bash', [join(composeDir, 'register-apps.sh')], { env });
    assert.equal(first.code, 0, describeRun('register-apps.sh', first));
    const all = await entries();
    const find = (id: string, selector: string): Entry | undefined =>
      all.find((e) => idString(e.spiffe_id) === id && e.selectors.some((s) => `${s.type}:${s.value}` === selector));
    for (const [id, selector] of [
      [`spiffe://${trustDomain}/server`, 'unix:user:server-workload'],
      [`spiffe://${trustDomain}/client`, 'unix:user:client-workload'],
    ] as const) {
      const entry = find(id, selector);
      assert.ok(entry, `no entry ${id} for ${selector}`);
      assert.equal(idString(entry.parent_id), nodeAlias);
    }
    const second = await run('bash', [join(composeDir, 'register-apps.sh')], { env });
    assert.equal(second.code, 0, describeRun('register-apps.sh (again)', second));
    assert.match(second.stdout, /already exists/);
    assert.equal((await entries()).length, all.length);
  });

  test('the agent joins with the token, trusting the server through the bundle', async () => {
    agent = start(spireAgentBin, ['run', ...agentArgs()], join(scratch, 'agent.log'));
    await waitFor('spire-agent to be healthy', agentHealthy);
    const agents = await server(['agent', 'list', '-output', 'json']);
    const ids = ((JSON.parse(agents.stdout) as { agents?: { id: { trust_domain: string; path: string } }[] }).agents ?? []).map((a) =>
      idString(a.id),
    );
    assert.deepEqual(ids, [`spiffe://${trustDomain}/spire/agent/join_token/${firstToken}`]);
  });

  test('a workload registered under the node alias gets its X509-SVID from that agent', async () => {
    const uid = process.getuid?.() ?? 0;
    const id = `spiffe://${trustDomain}/deploy-test`;
    const created = await server(['entry', 'create', '-parentID', nodeAlias, '-spiffeID', id, '-selector', `unix:uid:${uid}`]);
    assert.equal(created.code, 0, describeRun('entry create', created));
    let last: RunResult | undefined;
    // The agent picks a new entry up at its next sync (about 5 s).
    await waitFor('the X509-SVID', async () => {
      last = await run(spireAgentBin, ['api', 'fetch', 'x509', '-socketPath', agentSocket]);
      return last.code === 0;
    });
    assert.match(last?.stdout ?? '', new RegExp(`SPIFFE ID:\\s+${id}`));
  });

  test('a restarted agent keeps its SVID and leaves the used token alone', async () => {
    await stop(agent);
    agent = start(spireAgentBin, ['run', ...agentArgs()], join(scratch, 'agent-2.log'));
    await waitFor('the restarted spire-agent to be healthy', agentHealthy);
  });

  test("bootstrap.sh deletes node aliases whose token expired unused, and keeps the agent's", async () => {
    const unused = await bootstrap();
    assert.equal(unused.code, 0, describeRun('bootstrap.sh (2)', unused));
    const unusedToken = (await readFile(join(bootstrapDir, 'join_token'), 'utf8')).trim();
    assert.notEqual(unusedToken, firstToken);
    await sleep(3500);
    // A one-second token lifetime: the alias of the unused token (created 3.5 s ago; bootstrap.sh
    // allows one second for created_at's rounding) is dead.
    const third = await bootstrap({ JOIN_TOKEN_TTL: '1' });
    assert.equal(third.code, 0, describeRun('bootstrap.sh (3)', third));
    assert.match(third.stderr, /deleted 1 node alias\(es\)/);
    const newToken = (await readFile(join(bootstrapDir, 'join_token'), 'utf8')).trim();
    const parents = (await entries(nodeAlias)).map((e) => idString(e.parent_id)).sort();
    assert.deepEqual(parents, [firstToken, newToken].map((t) => `spiffe://${trustDomain}/spire/agent/join_token/${t}`).sort());
    assert.ok(await agentHealthy());
  });

  test('deploy/k8s/register.sh creates the node alias and one entry per service account, once', async () => {
    const script = join(deployDir, 'k8s', 'register.sh');
    const env = { PATH: process.env.PATH, SPIRE_SERVER: spireServerBin, SPIRE_SERVER_SOCKET: serverSocket };
    const first = await run('bash', [script], { env });
    assert.equal(first.code, 0, describeRun('deploy/k8s/register.sh', first));
    const defaults = shellDefaults(read(script));
    const cluster = defaults.CLUSTER_NAME ?? '';
    const alias = `spiffe://${trustDomain}/k8s-node/${cluster}`;
    const all = await entries();
    const aliasEntry = all.find((e) => idString(e.spiffe_id) === alias);
    assert.ok(aliasEntry, 'no node alias');
    assert.equal(idString(aliasEntry.parent_id), `spiffe://${trustDomain}/spire/server`, 'a node entry (-node)');
    assert.deepEqual(aliasEntry.selectors.map((s) => `${s.type}:${s.value}`).sort(), [
      `k8s_psat:agent_ns:${defaults.AGENT_NAMESPACE}`,
      `k8s_psat:agent_sa:${defaults.AGENT_SERVICE_ACCOUNT}`,
      `k8s_psat:cluster:${cluster}`,
    ]);
    const accounts = shellArray(read(script), 'workloads');
    for (const sa of accounts) {
      const id = `spiffe://${trustDomain}/ns/${defaults.APP_NAMESPACE}/sa/${sa}`;
      const entry = all.find((e) => idString(e.spiffe_id) === id);
      assert.ok(entry, `no entry for ${id}`);
      assert.equal(idString(entry.parent_id), alias);
      assert.deepEqual(entry.selectors.map((s) => `${s.type}:${s.value}`).sort(), [`k8s:ns:${defaults.APP_NAMESPACE}`, `k8s:sa:${sa}`]);
    }
    const second = await run('bash', [script], { env });
    assert.equal(second.code, 0, describeRun('deploy/k8s/register.sh (again)', second));
    assert.equal((second.stdout.match(/already exists/g) ?? []).length, accounts.length + 1);
    assert.equal((await entries()).length, all.length);
  });
});
