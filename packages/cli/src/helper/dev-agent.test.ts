// `spiffe helper` against the development agent (a real process issuing 4 s X509-SVIDs): the
// agent's own rotations reach the files and the child process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnCli, startDevAgentProcess, tempDir, until, type DevAgentProcess } from '../testing/fixtures.js';
import { SIGNAL_RECORDER, writeScript } from '../testing/scripts.js';

const ME = 'spiffe://example.org/helper-test';
let agent: DevAgentProcess;
let dir: ReturnType<typeof tempDir>;

before(async () => {
  agent = await startDevAgentProcess({ x509SvidTtl: '4s' });
  await agent.createEntry(ME);
  dir = tempDir('spiffe-helper-dev-');
});

after(async () => {
  await agent?.stop();
  dir?.remove();
});

describe('spiffe helper with the development agent', () => {
  it("keeps the files current through the agent's rotations and signals cmd after each", async () => {
    const log = join(dir.path, 'child.log');
    const recorder = writeScript(dir.path, 'recorder.mjs', SIGNAL_RECORDER);
    writeFileSync(
      join(dir.path, 'helper.conf'),
      `agent_address = "${agent.socketPath}"
cert_dir = "certs"
svid_file_name = "svid.pem"
svid_key_file_name = "svid_key.pem"
svid_bundle_file_name = "svid_bundle.pem"
cmd = "${process.execPath}"
cmd_args = "${recorder} ${log}"
renew_signal = "SIGUSR1"
`,
    );
    const helper = spawnCli(['helper', '-config', 'helper.conf'], { cwd: dir.path });
    const lines = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
    const leaf = (): X509Certificate => new X509Certificate(readFileSync(join(dir.path, 'certs', 'svid.pem')));
    try {
      await until(() => lines().some((l) => l.startsWith('started')), 15_000, 'cmd to start');
      const first = leaf();
      assert.match(first.subjectAltName ?? '', new RegExp(`URI:${ME}`));
      await until(() => lines().filter((l) => l === 'SIGUSR1').length >= 2, 15_000, 'two rotations signalled');
      const now = leaf();
      assert.notEqual(now.serialNumber, first.serialNumber);
      assert.ok(now.checkPrivateKey(createPrivateKey(readFileSync(join(dir.path, 'certs', 'svid_key.pem')))));
      assert.match(helper.stderr(), /Sent SIGUSR1 to cmd \(pid \d+\)/);
    } finally {
      const result = await helper.stop('SIGTERM');
      assert.equal(result.code, 0, result.stderr);
    }
  });
});
