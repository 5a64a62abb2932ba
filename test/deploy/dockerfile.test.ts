// deploy/docker/Dockerfile without a Docker engine: its build stage runs the commands CI runs
// (.ci/run -> scripts/setup.sh), its stages and copies fit together, the runtime runs as
// non-root workload users with fixed uids, and its RUN steps pass shellcheck.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { execForm, parseCopy, parseDockerfile, runCommand, substitute, type Dockerfile, type Stage } from './lib/dockerfile.js';
import { deployDir, read, repoRoot } from './lib/repo.js';
import { formatFinding, shellcheck, shellcheckSkip } from './lib/shellcheck.js';
import { pinnedSpireVersion } from './lib/spire.js';

const dockerfilePath = join(deployDir, 'docker', 'Dockerfile');
const dockerfileText = read(dockerfilePath);
const dockerfile = parseDockerfile(dockerfileText);
const stage = (name: string): Stage => {
  const s = dockerfile.stages.find((x) => x.name === name);
  assert.ok(s, `the Dockerfile has no stage ${name}`);
  return s;
};
const normalize = (s: string): string => s.replace(/\s+/g, ' ').trim();

// --- what CI runs ------------------------------------------------------------------------------

/**
 * The install and build commands of a CI run: .ci/run exports CI=true and runs scripts/setup.sh,
 * which installs the pinned pnpm, then (CI branch) `pnpm install --frozen-lockfile`, then builds.
 * Read from the scripts, not restated here, so a change there shows up as a difference.
 */
function ciCommands(): string[] {
  const ciRun = read(join(repoRoot, '.ci', 'run'));
  assert.match(ciRun, /^export CI=true$/m, '.ci/run no longer exports CI=true');
  assert.match(ciRun, /^bash scripts\/setup\.sh\b/m, '.ci/run no longer runs scripts/setup.sh');
  const setup = read(join(repoRoot, 'scripts', 'setup.sh')).split('\n');
  const find = (what: string, re: RegExp): string => {
    const line = setup.find((l) => re.test(l));
    assert.ok(line, `scripts/setup.sh: no ${what} (${re})`);
    return normalize(line);
  };
  const pnpmVersion = find('pnpm version', /^PNPM_VERSION=\$\(node -p /);
  const installPnpm = find('pnpm install', /^\s*npm install --global .*"pnpm@\$\{PNPM_VERSION\}"/);
  const ciBranch = setup.findIndex((l) => /^if \[ -n "\$\{CI:-\}" \]; then$/.test(l));
  assert.ok(ciBranch >= 0, 'scripts/setup.sh: no `if [ -n "${CI:-}" ]; then` branch');
  const installDeps = normalize(setup[ciBranch + 1] ?? '');
  assert.match(installDeps, /^pnpm install /);
  const build = find('build', /^pnpm build$/);
  return [pnpmVersion, installPnpm, installDeps, build];
}

/**
 * The CI commands missing from the RUN steps of a stage (empty: all there, in CI's order). Each must
 * be a whole command of a RUN (between `&&`, `||`, `;`), not part of a longer one.
 */
function missingCiCommands(d: Dockerfile, stageName: string, commands: string[]): string[] {
  const simple = (d.stages.find((s) => s.name === stageName)?.instructions ?? [])
    .filter((i) => i.keyword === 'RUN')
    .flatMap((i) => runCommand(i).split(/&&|\|\||;/))
    .map(normalize);
  const missing: string[] = [];
  let from = 0;
  for (const cmd of commands) {
    const at = simple.indexOf(cmd, from);
    if (at < 0) missing.push(cmd);
    else from = at + 1;
  }
  return missing;
}

describe('the build stage runs what CI runs', () => {
  const commands = ciCommands();

  test('the same commands, in the same order, with CI=true', () => {
    assert.equal(commands.length, 4);
    assert.deepEqual(missingCiCommands(dockerfile, 'build', commands), []);
    const env = stage('build')
      .instructions.filter((i) => i.keyword === 'ENV')
      .map((i) => normalize(i.args));
    assert.ok(env.includes('CI=true'), 'ENV CI=true, as .ci/run exports it');
  });

  test('a Dockerfile that skips a CI step, or reorders them, is caught', () => {
    const withoutBuild = parseDockerfile(dockerfileText.replace(/^RUN pnpm build$/m, 'RUN true'));
    assert.deepEqual(missingCiCommands(withoutBuild, 'build', commands), ['pnpm build']);
    const unfrozen = parseDockerfile(dockerfileText.replace(/^RUN pnpm install --frozen-lockfile$/m, 'RUN pnpm install'));
    assert.deepEqual(missingCiCommands(unfrozen, 'build', commands), [commands[2]]);
    const reordered = parseDockerfile(
      dockerfileText
        .replace(/^RUN pnpm install --frozen-lockfile$/m, 'RUN true')
        .replace(/^RUN pnpm build$/m, 'RUN pnpm build && pnpm install --frozen-lockfile'),
    );
    assert.equal(missingCiCommands(reordered, 'build', commands).length, 1);
  });

  test('the Node image is a supported, tested LTS line (not the end-of-life 20)', () => {
    const engines = (JSON.parse(read(join(repoRoot, 'package.json'))) as { engines: { node: string } }).engines.node;
    const lines = /DEFAULT_LINES="([^"]+)"/.exec(read(join(repoRoot, 'scripts', 'node-lines.sh')))?.[1]?.split(' ') ?? [];
    const tested = lines.map((v) => v.split('.')[0]);
    const image = /^node:(\d+)-slim$/.exec(dockerfile.globalArgs.NODE_IMAGE ?? '');
    assert.ok(image, `NODE_IMAGE should be node:<major>-slim, not ${dockerfile.globalArgs.NODE_IMAGE}`);
    const major = image[1]!;
    assert.ok(tested.includes(major), `node:${major} is not a line CI tests (scripts/node-lines.sh: ${lines.join(', ')})`);
    assert.notEqual(major, '20', 'Node.js 20 is end of life');
    assert.ok(
      engines
        .split('||')
        .some((range) => new RegExp(`^\\s*(\\^${major}\\.|>=\\s*(\\d+))`).test(range) && Number(/\d+/.exec(range)![0]) <= Number(major)),
      `engines (${engines}) does not allow Node.js ${major}`,
    );
    for (const name of ['build', 'app', 'register-scripts', 'spire-tools']) assert.equal(stage(name).image, `node:${major}-slim`);
  });
});

// --- stages, copies, users -----------------------------------------------------------------------

/** Docker's .dockerignore patterns (no `!` exceptions here) as a test on context-relative paths. */
function dockerignore(text: string): (path: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  assert.ok(
    patterns.every((p) => !p.startsWith('!')),
    'exceptions (!) are not evaluated by this check',
  );
  const regexes = patterns.map((p) => {
    const body = p
      .replace(/^\/+|\/+$/g, '')
      .split(/(\*\*\/|\*\*|\*|\?)/)
      .map((part) => ({ '**/': '(?:.*/)?', '**': '.*', '*': '[^/]*', '?': '[^/]' })[part] ?? part.replace(/[.+^${}()|[\]\\]/g, '\\$&'))
      .join('');
    return new RegExp(`^${body}(?:/.*)?$`);
  });
  return (path) => regexes.some((r) => r.test(path));
}

describe('stages and copies', () => {
  const ignored = dockerignore(read(join(deployDir, 'docker', 'Dockerfile.dockerignore')));

  test('the build context leaves out what the host built or installed, and private keys', () => {
    for (const path of [
      'node_modules',
      'packages/spiffe/node_modules/x',
      'packages/spiffe/dist/index.js',
      '.spire/bin/spire-server',
      '.git/HEAD',
      '.tmp/x',
      'apps/api-gateway/client.key',
    ]) {
      assert.ok(ignored(path), `${path} would be sent to the builder`);
    }
    for (const path of [
      'package.json',
      'pnpm-lock.yaml',
      'packages/spiffe/src/index.ts',
      'apps/mtls-echo/register.sh',
      'deploy/compose/bootstrap.sh',
    ]) {
      assert.ok(!ignored(path), `${path} would be left out of the build context`);
    }
  });

  test('every COPY source exists in the context and is not ignored; every --from is an earlier stage', () => {
    const names = new Set<string>();
    for (const s of dockerfile.stages) {
      for (const ins of s.instructions.filter((i) => i.keyword === 'COPY')) {
        const copy = parseCopy(ins);
        if (copy.from !== undefined) {
          assert.ok(names.has(copy.from), `line ${ins.line}: --from=${copy.from} is not an earlier stage`);
          continue;
        }
        for (const src of copy.sources) {
          if (src === '.') continue;
          const clean = src.replace(/\/$/, '');
          assert.ok(existsSync(join(repoRoot, clean)), `line ${ins.line}: ${src} does not exist`);
          assert.ok(!ignored(clean), `line ${ins.line}: ${src} is excluded by the .dockerignore`);
        }
      }
      names.add(s.name);
    }
  });

  test('SPIRE comes from the release image of the pinned version', () => {
    assert.equal(dockerfile.globalArgs.SPIRE_VERSION, pinnedSpireVersion());
    assert.equal(stage('spire-server').image, `ghcr.io/spiffe/spire-server:${pinnedSpireVersion()}`);
    const copy = stage('spire-tools')
      .instructions.filter((i) => i.keyword === 'COPY')
      .map(parseCopy)
      .find((c) => c.from === 'spire-server');
    assert.deepEqual(copy?.sources, ['/opt/spire/bin/spire-server']);
  });

  test('the runtime stages run as non-root users; the workload users have fixed uids', () => {
    const lastUser = (s: Stage): string | undefined => s.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
    for (const name of ['app', 'spire-tools']) {
      const user = lastUser(stage(name));
      assert.ok(user && !/^(root|0)(:|$)/.test(user), `${name} runs as ${user ?? 'root (no USER)'}`);
    }
    assert.equal(lastUser(stage('app')), 'nobody', 'a container without `user:` must have no registered identity');
    assert.equal(lastUser(stage('spire-tools')), '1000:1000', 'the uid of the SPIRE server image, owner of its admin socket');
    const runs = stage('app')
      .instructions.filter((i) => i.keyword === 'RUN')
      .map((i) => normalize(i.args))
      .join(' ');
    assert.match(runs, /useradd --uid 10001 --gid 10001 .*server-workload/);
    assert.match(runs, /useradd --uid 10002 --gid 10002 .*client-workload/);
  });

  test("every app's register.sh gets into the spire-tools image", () => {
    const run = stage('register-scripts').instructions.find((i) => i.keyword === 'RUN');
    assert.match(normalize(run?.args ?? ''), /for script in apps\/\*\/register\.sh/);
    const copy = stage('spire-tools')
      .instructions.filter((i) => i.keyword === 'COPY')
      .map(parseCopy)
      .find((c) => c.from === 'register-scripts');
    assert.equal(copy?.destination, '/opt/spiffe-node/apps');
    const registerApps = read(join(deployDir, 'compose', 'register-apps.sh'));
    assert.match(registerApps, /APPS_DIR:=\/opt\/spiffe-node\/apps/);
  });

  test('CMD and ENTRYPOINT are in exec form', () => {
    for (const s of dockerfile.stages) {
      for (const ins of s.instructions.filter((i) => i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT')) {
        assert.ok(execForm(ins.args), `line ${ins.line}: ${ins.keyword} in shell form`);
      }
    }
  });
});

describe('the RUN steps pass shellcheck', { skip: shellcheckSkip }, () => {
  for (const s of dockerfile.stages) {
    const shellIns = s.instructions.filter((i) => i.keyword === 'SHELL').at(-1);
    const shell = shellIns ? execForm(shellIns.args) : ['/bin/sh', '-c'];
    const dialect = shell?.[0]?.endsWith('bash') ? 'bash' : 'sh';
    const runs = s.instructions.filter((i) => i.keyword === 'RUN');
    if (runs.length === 0) continue;
    test(`stage ${s.name} (${dialect})`, async () => {
      const report: string[] = [];
      for (const ins of runs) {
        const script = `#!/bin/${dialect}\n${substitute(runCommand(ins), {})}\n`;
        const found = await shellcheck([], { shell: dialect, stdin: script });
        report.push(...found.map((f) => `Dockerfile line ${ins.line}: ${formatFinding({ ...f, file: dockerfilePath })}`));
      }
      assert.deepEqual(report, []);
    });
  }
});
