// deploy/compose/federation.yaml (the override that adds partner.org beside example.org, federated
// through bundle endpoints) without a Docker engine:
//   - the file against the Compose specification's JSON schema, as compose.yaml is;
//   - the wiring the schema cannot see: each server's federates_with names the other trust domain,
//     at the other's service name and bundle endpoint port, with the other server's SPIFFE ID; the
//     partner's agent and bootstrap fit its server as example.org's do; the spire-federation
//     one-shot reaches both admin sockets where the servers put them, and runs a script that the
//     spire-tools image has. The SPIRE configs themselves go through `spire-server validate` in
//     spire-configs.test.ts (every .conf under deploy/).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { describe, test } from 'node:test';
import { ComposeFile, composeDir, flagValue, type Mount } from './lib/compose.js';
import { parseCopy, parseDockerfile } from './lib/dockerfile.js';
import { composeValidator, formatErrors } from './lib/json-schema.js';
import { deployDir, read, rel, repoRoot } from './lib/repo.js';
import { configKind, hclSetting, pinnedSpireVersion } from './lib/spire.js';
import { shellDefaults } from './lib/wiring.js';
import { asRecord, loadYaml } from './lib/yaml-docs.js';

const overrideFile = join(composeDir, 'federation.yaml');
const base = new ComposeFile();
const override = new ComposeFile(overrideFile);

/** The service as `docker compose -f compose.yaml -f federation.yaml` sees it, for what is checked here. */
function merged(name: string): ComposeFile {
  return override.services[name] !== undefined ? override : base;
}
/** The mounts of a service in both files (compose merges volumes by target). */
function mountsOf(name: string): Mount[] {
  return [base, override].flatMap((f) => (f.services[name] !== undefined ? f.mounts(name) : []));
}
const configOf = (name: string): string => {
  const file = merged(name);
  const path = file.boundFile(name, flagValue(file.command(name), '-config'));
  assert.ok(existsSync(path), `${rel(path)} does not exist`);
  return path;
};

interface Federation {
  trustDomain: string;
  endpointPort: string;
  federatesWith: string;
  url: string;
  endpointId: string;
}

/** The federation settings of a server config (one federates_with block). */
function federationOf(text: string): Federation {
  const clean = text.replace(/^\s*#.*$/gm, '');
  const relationships = [...clean.matchAll(/^\s*federates_with\s+"([^"]+)"/gm)].map((m) => m[1] ?? '');
  assert.equal(relationships.length, 1, `expected one federates_with block, found ${relationships.length}`);
  return {
    trustDomain: hclSetting(text, 'trust_domain') ?? '',
    endpointPort: hclSetting(text, 'port') ?? '',
    federatesWith: relationships[0] ?? '',
    url: hclSetting(text, 'bundle_endpoint_url') ?? '',
    endpointId: hclSetting(text, 'endpoint_spiffe_id') ?? '',
  };
}

describe('deploy/compose/federation.yaml', () => {
  const validate = composeValidator();

  test('matches the Compose specification schema', () => {
    assert.deepEqual(loadYaml(overrideFile).problems, []);
    assert.ok(validate(override.body), formatErrors(validate.errors).join('\n'));
  });

  test('a broken copy (a depends_on condition that does not exist) is refused', () => {
    const broken = structuredClone(override.body);
    const dep = asRecord(asRecord(asRecord(asRecord(broken.services)?.['spire-federation'])?.depends_on)?.['partner-spire-server']);
    assert.ok(dep);
    dep.condition = 'service_up';
    assert.equal(validate(broken), false);
    assert.match(formatErrors(validate.errors).join('\n'), /must be equal to one of the allowed values/);
  });

  test("adds the partner's server, bootstrap, agent and the federation one-shot, and only overrides spire-server", () => {
    const added = Object.keys(override.services)
      .filter((n) => base.services[n] === undefined)
      .sort();
    assert.deepEqual(added, ['partner-spire-agent', 'partner-spire-bootstrap', 'partner-spire-server', 'spire-federation']);
    const overridden = Object.keys(override.services).filter((n) => base.services[n] !== undefined);
    assert.deepEqual(overridden, ['spire-server']);
    const version = pinnedSpireVersion();
    assert.equal(override.service('partner-spire-server').image, `ghcr.io/spiffe/spire-server:${version}`);
    assert.equal(override.service('partner-spire-agent').image, `ghcr.io/spiffe/spire-agent:${version}`);
    for (const [name, s] of Object.entries(override.services)) {
      assert.equal(asRecord(s)?.ports, undefined, `${name} publishes ports`);
      const check = asRecord(asRecord(s)?.healthcheck)?.test;
      if (check !== undefined) assert.ok(Array.isArray(check) && check[0] === 'CMD', `${name}: exec-form health check`);
    }
  });

  test('each server reads a server config of its own trust domain', () => {
    for (const [name, td] of [
      ['spire-server', 'example.org'],
      ['partner-spire-server', 'partner.org'],
    ] as const) {
      const text = read(configOf(name));
      assert.equal(configKind(text), 'server', `${name}: not a server config`);
      assert.equal(hclSetting(text, 'trust_domain'), td, `${name}: trust_domain`);
    }
  });

  test('each server federates with the other at its service name, bundle endpoint port and SPIFFE ID', () => {
    const a = federationOf(read(configOf('spire-server')));
    const b = federationOf(read(configOf('partner-spire-server')));
    for (const [self, other, otherService] of [
      [a, b, 'partner-spire-server'],
      [b, a, 'spire-server'],
    ] as const) {
      assert.equal(self.federatesWith, other.trustDomain, `${self.trustDomain} federates with ${self.federatesWith}`);
      assert.equal(self.url, `https://${otherService}:${other.endpointPort}`, `${self.trustDomain}: bundle_endpoint_url`);
      assert.equal(self.endpointId, `spiffe://${other.trustDomain}/spire/server`, `${self.trustDomain}: endpoint_spiffe_id`);
      assert.ok(merged(otherService).services[otherService], `${otherService} is no service`);
    }
  });

  test("the partner's agent reaches its server and gets the bundle and token where bootstrap.sh writes them", () => {
    const agentConf = read(configOf('partner-spire-agent'));
    const serverConf = read(configOf('partner-spire-server'));
    assert.equal(configKind(agentConf), 'agent');
    assert.equal(hclSetting(agentConf, 'server_address'), 'partner-spire-server');
    assert.equal(hclSetting(agentConf, 'server_port'), hclSetting(serverConf, 'bind_port'));
    assert.equal(hclSetting(agentConf, 'trust_domain'), hclSetting(serverConf, 'trust_domain'));
    const bootstrapEnv = override.env('partner-spire-bootstrap');
    assert.equal(bootstrapEnv.SPIRE_TRUST_DOMAIN, 'partner.org');
    assert.equal(override.command('partner-spire-bootstrap')[0], 'bootstrap.sh');
    assert.equal(override.volumeMount('partner-spire-bootstrap', 'partner-spire-bootstrap')?.target, bootstrapEnv.BOOTSTRAP_DIR);
    const agentMount = override.volumeMount('partner-spire-agent', 'partner-spire-bootstrap');
    assert.ok(agentMount, 'the partner agent does not mount partner-spire-bootstrap');
    assert.equal(agentMount.read_only, true);
    assert.equal(hclSetting(agentConf, 'trust_bundle_path'), `${agentMount.target}/bundle.pem`);
    assert.equal(flagValue(override.command('partner-spire-agent'), '-joinTokenFile'), `${agentMount.target}/join_token`);
    // bootstrap.sh's defaults would bootstrap example.org: the override must set what differs.
    assert.notEqual(shellDefaults(read(join(composeDir, 'bootstrap.sh'))).SPIRE_TRUST_DOMAIN, 'partner.org');
  });

  test("the one-shots reach each server's admin socket through the volume that server puts it in", () => {
    const socketVolume = (serverName: string): { volume: string; socket: string } => {
      const conf = read(configOf(serverName));
      const socket = hclSetting(conf, 'socket_path') ?? '/tmp/spire-server/private/api.sock';
      const mount = mountsOf(serverName).find((m) => m.type === 'volume' && m.target === posix.dirname(socket));
      assert.ok(mount, `${serverName}: its admin socket ${socket} is on no named volume`);
      return { volume: mount.source, socket };
    };
    const a = socketVolume('spire-server');
    const b = socketVolume('partner-spire-server');
    const check = (service: string, variable: string, target: { volume: string; socket: string }): void => {
      const mount = override.volumeMount(service, target.volume);
      assert.ok(mount, `${service} does not mount ${target.volume}`);
      assert.equal(override.env(service)[variable], `${mount.target}/${posix.basename(target.socket)}`, `${service}: ${variable}`);
      assert.equal(override.service(service).user, '1000:1000', `${service}: the uid that owns the admin sockets`);
    };
    check('partner-spire-bootstrap', 'SPIRE_SERVER_SOCKET', b);
    check('spire-federation', 'FEDERATION_A_SOCKET', a);
    check('spire-federation', 'FEDERATION_B_SOCKET', b);
    const env = override.env('spire-federation');
    assert.equal(env.FEDERATION_A_TRUST_DOMAIN, 'example.org');
    assert.equal(env.FEDERATION_B_TRUST_DOMAIN, 'partner.org');
    const deps = asRecord(override.service('spire-federation').depends_on) ?? {};
    for (const name of ['spire-server', 'partner-spire-server'])
      assert.equal(asRecord(deps[name])?.condition, 'service_healthy', `spire-federation waits for ${name}`);
    for (const name of ['partner-spire-bootstrap', 'spire-federation']) {
      const s = override.service(name);
      assert.equal(s.read_only, true, `${name}: read_only`);
      assert.deepEqual(s.cap_drop, ['ALL'], `${name}: cap_drop`);
    }
  });

  test('every named volume it uses is declared', () => {
    const declared = new Set([...Object.keys(asRecord(base.body.volumes) ?? {}), ...Object.keys(asRecord(override.body.volumes) ?? {})]);
    for (const name of Object.keys(override.services)) {
      for (const m of override.mounts(name).filter((x) => x.type === 'volume'))
        assert.ok(declared.has(m.source), `${name}: volume ${m.source} is not declared`);
    }
  });

  test("the one-shots' scripts are in the spire-tools image", () => {
    const tools = parseDockerfile(read(join(deployDir, 'docker', 'Dockerfile'))).stages.find((s) => s.name === 'spire-tools');
    assert.ok(tools);
    const copied = tools.instructions
      .filter((i) => i.keyword === 'COPY')
      .map(parseCopy)
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    for (const name of ['partner-spire-bootstrap', 'spire-federation']) {
      assert.equal(asRecord(override.service(name).build)?.target, 'spire-tools', `${name}: the spire-tools image`);
      const script = override.command(name)[0] ?? '';
      const source = copied.find((src) => basename(src) === script);
      assert.ok(source, `${name} runs ${script}, which the spire-tools stage does not copy`);
      assert.ok(existsSync(join(repoRoot, source)), `${source} does not exist`);
    }
  });
});
