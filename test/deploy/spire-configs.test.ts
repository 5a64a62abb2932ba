// Every SPIRE HCL config under deploy/ is accepted by the real binary that reads it
// (`spire-server validate` / `spire-agent validate`), with -expandEnv and the environment its
// scripts give it when it uses ${VARS}. A broken copy of each is refused, so the check can fail.
// Without the binaries: skipped with the reason, unless SPIFFE_REQUIRE_SPIRE is set (CI).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deployDir, describeRun, read, rel, run, walk } from './lib/repo.js';
import { configKind, deploySpireEnv, envReferences, spireAgentBin, spireServerBin, spireSkip, type SpireConfigKind } from './lib/spire.js';

const configs = walk(deployDir, (p) => p.endsWith('.conf') || p.endsWith('.hcl'));
const binaries: Record<SpireConfigKind, string> = { server: spireServerBin, agent: spireAgentBin };

/**
 * The settings deploy/spire/federation.sh gives start.sh for the first trust domain; with them
 * lib.sh picks server-federated.conf.
 */
const federationSettings = { SPIRE_FEDERATES_WITH: 'partner.org', SPIRE_FEDERATES_WITH_URL: 'https://127.0.0.1:18444' };

/**
 * The environment a config is validated with: deploy/spire's configs get lib.sh's settings, the
 * federated server's those of a start.sh run by federation.sh.
 */
async function envFor(file: string): Promise<Record<string, string>> {
  if (!rel(file).startsWith('deploy/spire/')) return {};
  if (basename(file) !== 'server-federated.conf') return deploySpireEnv();
  const env = await deploySpireEnv(federationSettings);
  assert.equal(env.SPIRE_SERVER_CONF, file, 'with SPIRE_FEDERATES_WITH set, lib.sh must pick server-federated.conf');
  return env;
}

async function validate(kind: SpireConfigKind, file: string, env: Record<string, string>) {
  const expand = envReferences(read(file)).length > 0;
  return run(binaries[kind], ['validate', ...(expand ? ['-expandEnv'] : []), '-config', file], {
    env: { PATH: process.env.PATH, ...env },
  });
}

test('deploy/ has the SPIRE configs this suite is about', () => {
  const names = configs.map(rel);
  for (const expected of [
    'deploy/spire/server.conf',
    'deploy/spire/agent.conf',
    'deploy/spire/server-federated.conf',
    'deploy/compose/spire/server.conf',
    'deploy/compose/spire/agent.conf',
  ]) {
    assert.ok(names.includes(expected), `${expected} missing; found ${names.join(', ')}`);
  }
});

describe('every HCL file under deploy/ is a SPIRE server or agent config', () => {
  for (const file of configs) {
    test(rel(file), () => {
      assert.ok(configKind(read(file)), `${rel(file)} has neither a top-level server { } nor agent { } block`);
    });
  }
});

describe('every ${VAR} a config uses is set by the scripts that load it', () => {
  // SPIRE's -expandEnv replaces an unset variable with '' without a word: catch it here.
  for (const file of configs) {
    const vars = envReferences(read(file));
    if (vars.length === 0) continue;
    test(rel(file), async () => {
      const env = await envFor(file);
      const unset = vars.filter((v) => env[v] === undefined || env[v] === '');
      assert.deepEqual(unset, [], `${rel(file)} uses ${unset.join(', ')}, which its scripts do not set`);
    });
  }
});

describe('the real SPIRE binaries accept every config', { skip: spireSkip, concurrency: 4 }, () => {
  let scratch = '';
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'spiffe-deploy-hcl-'));
  });
  after(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  for (const file of configs) {
    const kind = configKind(read(file));
    if (!kind) continue;
    test(`${rel(file)}: spire-${kind} validate`, async () => {
      const result = await validate(kind, file, await envFor(file));
      assert.equal(result.code, 0, describeRun(`spire-${kind} validate ${rel(file)}`, result));
      assert.match(result.stdout, new RegExp(`SPIRE ${kind} configuration file is valid\\.`));
    });

    // The invalid counterparts: the same file with one defect each, refused with the reason.
    const defects: { what: string; edit: (text: string) => string; message: RegExp }[] = [
      {
        what: 'a trust domain with upper-case letters and a space',
        edit: (t) => t.replace(/(trust_domain\s*=\s*)"[^"]*"/, '$1"Example Org"'),
        message: /could not parse trust_domain "Example Org"/,
      },
      {
        what: `a misspelt ${kind} setting`,
        edit: (t) => t.replace(/^(\s*)log_level(\s*=)/m, '$1log_levle$2'),
        message: /unknown configuration detected/,
      },
      {
        what: 'an unbalanced brace',
        edit: (t) => `${t}\n}\n`,
        message: /unable to decode configuration/,
      },
    ];
    for (const defect of defects) {
      test(`${rel(file)} with ${defect.what}: refused`, async () => {
        const broken = defect.edit(read(file));
        assert.notEqual(broken, read(file), 'the defect must change the file');
        const copy = join(scratch, `${kind}-${defects.indexOf(defect)}-${basename(file)}`);
        await writeFile(copy, broken);
        const result = await validate(kind, copy, await envFor(file));
        assert.notEqual(result.code, 0, describeRun(`spire-${kind} validate (${defect.what})`, result));
        assert.match(`${result.stdout}${result.stderr}`, defect.message);
      });
    }
  }
});
