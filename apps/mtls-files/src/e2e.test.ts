// The whole path with real processes: the development agent issues 4 s SVIDs, `spiffe helper`
// keeps the server's files current, the server (--svid-dir) follows them, and a client uses the
// files `spiffe api fetch x509 -write` wrote, with curl and with openssl.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SPIFFE_BIN, run, start, startDevAgent, startServer, tempDir, type Running } from './testing/fixtures.js';

const SERVER = 'spiffe://example.org/server';

let agent: Awaited<ReturnType<typeof startDevAgent>>;
let dir: ReturnType<typeof tempDir>;

before(async () => {
  agent = await startDevAgent({ x509SvidTtl: '4s' });
  await agent.createEntry(SERVER, ['-dns', 'localhost']);
  dir = tempDir('mtls-files-e2e-');
});
after(async () => {
  await agent?.stop();
  dir?.remove();
});

describe('helper + server --svid-dir + api fetch x509 -write, with the development agent', () => {
  it('serves the files the helper keeps current, through rotations, to a client using fetched files', async () => {
    writeFileSync(
      join(dir.path, 'helper.conf'),
      `agent_address = "${agent.socketPath}"\ncert_dir = "server"\nsvid_file_name = "svid.pem"\nsvid_key_file_name = "svid_key.pem"\nsvid_bundle_file_name = "svid_bundle.pem"\n`,
    );
    const helper: Running = start(SPIFFE_BIN, ['helper', '-config', 'helper.conf'], { cwd: dir.path });
    let server: Running | undefined;
    try {
      const serverDir = join(dir.path, 'server');
      const deadline = Date.now() + 15_000;
      while (!existsSync(join(serverDir, 'svid.pem')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      let url: string;
      let port: number;
      ({ server, url, port } = await startServer(['--svid-dir', serverDir, '--authorize-id', SERVER]));

      const fetched = await run(
        SPIFFE_BIN,
        ['api', 'fetch', 'x509', '-socketPath', agent.socketPath, '-write', 'client', '-timeout', '10s'],
        { cwd: dir.path },
      );
      assert.equal(fetched.code, 0, fetched.stderr);
      const client = join(dir.path, 'client');
      const curl = await run('curl', ['-sS', '--cacert', 'bundle.0.pem', '--cert', 'svid.0.pem', '--key', 'svid.0.key', url], {
        cwd: client,
      });
      assert.equal(curl.stdout.trim(), `{"mTLSValid": true, "spiffeId": "${SERVER}"}`, curl.stderr);

      // The helper rewrites the files at the next rotation; the server follows them.
      await server.waitFor(/SVID files changed: now serving spiffe:\/\/example\.org\/server/, 15_000);
      const onDisk = new X509Certificate(readFileSync(join(serverDir, 'svid.pem'))).serialNumber;
      const sClient = await run(
        'sh',
        [
          '-c',
          `openssl s_client -connect 127.0.0.1:${port} -servername localhost -CAfile svid_bundle.pem </dev/null 2>/dev/null | openssl x509 -noout -serial`,
        ],
        { cwd: serverDir },
      );
      const served = sClient.stdout.trim().replace(/^serial=/, '');
      // The files may have rotated once more meanwhile; the server serves what is (or just was) on disk.
      const now = new X509Certificate(readFileSync(join(serverDir, 'svid.pem'))).serialNumber;
      assert.ok(served === onDisk || served === now, `served ${served}, files ${onDisk} / ${now}`);
    } finally {
      await server?.stop();
      await helper.stop();
    }
  });
});
