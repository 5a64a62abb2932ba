// `spiffe api` as a real process against the development agent (a real process attesting this
// test's uid): the files it writes work with curl and openssl against a SPIFFE mTLS server of
// ours, and `api watch` shows the agent's rotations.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SpiffeId, X509Source, authorizeId } from '@spiffe-node/spiffe';
import { createHttpsServer, mtlsServerOptions, peerIdFromSocket } from '@spiffe-node/spiffe/tls';
import { run, runCli, spawnCli, startDevAgentProcess, tempDir, type DevAgentProcess } from '../testing/fixtures.js';

const ME = 'spiffe://example.org/cli-test';

let agent: DevAgentProcess;
let dir: ReturnType<typeof tempDir>;

before(async () => {
  agent = await startDevAgentProcess({ x509SvidTtl: '4s' });
  // curl checks the server's host name: the entry gives the SVID a DNS SAN for localhost.
  await agent.createEntry(ME, ['-dns', 'localhost']);
  dir = tempDir('spiffe-cli-dev-');
});

after(async () => {
  await agent?.stop();
  dir?.remove();
});

describe('spiffe api fetch x509 -write with the development agent', () => {
  it('writes files that openssl verifies and curl uses against a SPIFFE mTLS server; s_client sees the URI SAN', async () => {
    const out = join(dir.path, 'svids');
    const fetched = await runCli(['api', 'fetch', 'x509', '-socketPath', agent.socketPath, '-write', out, '-timeout', '10s']);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.match(fetched.stdout, new RegExp(`SPIFFE ID:\\t\\t${ME}\\n`));
    assert.match(fetched.stdout, /Intermediate #1 Valid After:/);

    const verify = await run('openssl', ['verify', '-partial_chain', '-CAfile', 'bundle.0.pem', '-untrusted', 'svid.0.pem', 'svid.0.pem'], {
      cwd: out,
    });
    assert.equal(verify.stdout.trim(), 'svid.0.pem: OK', verify.stderr);

    // A SPIFFE mTLS server (the library's), whose own SVID comes from the same agent.
    const source = await X509Source.create({ address: agent.endpoint, timeoutMs: 10_000 });
    const server = createHttpsServer(mtlsServerOptions(source, source, authorizeId(SpiffeId.fromString(ME))), (req, res) => {
      res.end(`hello ${peerIdFromSocket(req.socket)}\n`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      const curl = await run(
        'curl',
        ['-sS', '--cert', 'svid.0.pem', '--key', 'svid.0.key', '--cacert', 'bundle.0.pem', `https://localhost:${port}/`],
        { cwd: out },
      );
      assert.equal(curl.code, 0, curl.stderr);
      assert.equal(curl.stdout, `hello ${ME}\n`);

      // Without the client's files the server refuses the connection (the check can fail).
      const anonymous = await run('curl', ['-sS', '--cacert', 'bundle.0.pem', `https://localhost:${port}/`], { cwd: out });
      assert.notEqual(anonymous.code, 0);

      const sClient = await run(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${port}`,
          '-servername',
          'localhost',
          '-cert',
          'svid.0.pem',
          '-key',
          'svid.0.key',
          '-CAfile',
          'bundle.0.pem',
        ],
        { cwd: out, input: '' },
      );
      assert.match(sClient.stdout, /Verify return code: 0 \(ok\)/);
      const serverCert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(sClient.stdout)?.[0] ?? '';
      const san = await run('openssl', ['x509', '-noout', '-ext', 'subjectAltName'], { input: serverCert });
      assert.match(san.stdout, new RegExp(`URI:${ME}`));
      assert.match(san.stdout, /DNS:localhost/);
    } finally {
      server.close();
      await source.close();
    }
  });
});

describe('spiffe api watch with the development agent', () => {
  it("prints the agent's rotations (4 s SVIDs) as they arrive", async () => {
    const watch = spawnCli(['api', 'watch', '-socketPath', agent.socketPath]);
    try {
      // Two complete blocks: each ends with its CA's validity and a blank line.
      await watch.waitFor(/(Received 1 svid after [^\n]+\n[\s\S]*?CA #1 Valid Until:[^\n]*\n\n[\s\S]*?){2}/, 15_000);
      const blocks = watch
        .stdout()
        .split(/^Received /m)
        .filter((b) => b !== '');
      const validAfter = blocks.map((b) => /SVID Valid After:\t(.*)\n/.exec(b)?.[1]);
      const validUntil = blocks.map((b) => /SVID Valid Until:\t(.*)\n/.exec(b)?.[1]);
      assert.ok(blocks.every((b) => b.includes(`SPIFFE ID:\t\t${ME}\n`)));
      assert.notEqual(validUntil[0], validUntil[1], 'the second block is a new SVID');
      assert.ok(
        new Date((validAfter[1] as string).replace(' +0000 UTC', 'Z')).getTime() >=
          new Date((validAfter[0] as string).replace(' +0000 UTC', 'Z')).getTime(),
      );
    } finally {
      const result = await watch.stop('SIGINT');
      assert.equal(result.code, 0, result.stderr);
    }
  });
});
