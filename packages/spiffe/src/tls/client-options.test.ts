import assert from 'node:assert/strict';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { authorizeId, authorizeOneOf } from '../authorize/index.js';
import { X509BundleSet } from '../bundle/index.js';
import { TlsPeerError } from '../errors.js';
import type { TestSvid } from '../testing/ca.js';
import { mtlsClientOptions, mtlsWebClientOptions, tlsClientOptions } from './index.js';
import { closeServer, collect, delay, listenLocal, makePki, trackSockets } from './testing/fixtures.js';

const pki = makePki();
const { minted, svids, bundles, ca } = pki;
const SERVER = 'spiffe://example.org/server';

/** A server presenting `svid`, recording every byte of application data it receives. */
async function recordingServer(svid: TestSvid) {
  const received: Buffer[] = [];
  const server = trackSockets(
    tls.createServer({ cert: svid.certPem, key: svid.keyPem }, (socket) => {
      socket.on('data', (d: Buffer) => {
        received.push(d);
        socket.end('pong');
      });
      socket.on('error', () => {});
    }),
  );
  const port = await listenLocal(server);
  return { server, port, received };
}

describe('plain client options (tls.connect)', () => {
  const connect = (port: number, options: tls.ConnectionOptions, writeEarly = true) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options });
    if (writeEarly) socket.write('EARLY SECRET');
    return collect(socket);
  };

  it('authenticate the expected server and present the client SVID', async () => {
    const { server, port, received } = await recordingServer(minted.server);
    try {
      const result = await connect(port, mtlsClientOptions(svids.client, bundles, authorizeId(SERVER)));
      assert.equal(result.error, undefined);
      assert.equal(result.data.startsWith('pong'), true);
      assert.equal(Buffer.concat(received).toString(), 'EARLY SECRET');
    } finally {
      await closeServer(server);
    }
  });

  const rejections: Array<{ name: string; svid: TestSvid; check: (err: Error | undefined) => void }> = [
    {
      name: 'an unexpected ID, with a TlsPeerError',
      svid: minted.other,
      check: (err) => {
        assert.ok(err instanceof TlsPeerError);
        assert.equal(err.message, 'tls: unexpected ID "spiffe://example.org/other"');
      },
    },
    {
      name: 'an other.org leaf signed by example.org, with a TlsPeerError',
      svid: minted.crossServer,
      check: (err) => {
        assert.ok(err instanceof TlsPeerError);
        assert.equal(err.reason?.code, 'ERR_X509SVID_UNTRUSTED');
      },
    },
    {
      name: "an untrusted CA, with OpenSSL's error",
      svid: minted.rogueServer,
      check: (err) => assert.match(String((err as NodeJS.ErrnoException)?.code), /UNABLE_TO|SELF_SIGNED/),
    },
  ];
  for (const c of rejections) {
    it(`reject ${c.name}, and data written before the handshake never reaches the server`, async () => {
      const { server, port, received } = await recordingServer(c.svid);
      try {
        const result = await connect(port, mtlsClientOptions(svids.client, bundles, authorizeOneOf(SERVER, 'spiffe://other.org/server')));
        c.check(result.error);
        assert.equal(result.data, '');
        await delay(30);
        assert.equal(Buffer.concat(received).length, 0);
      } finally {
        await closeServer(server);
      }
    });
  }

  it('read the current bundles on each connection', async () => {
    const live = new X509BundleSet(pki.otherCa.bundle());
    const opts = tlsClientOptions(live, authorizeId(SERVER));
    const { server, port } = await recordingServer(minted.server);
    try {
      const before = await connect(port, opts, false);
      assert.match(String((before.error as NodeJS.ErrnoException)?.code), /UNABLE_TO|SELF_SIGNED/);
      live.add(ca.bundle());
      const socket = tls.connect({ host: '127.0.0.1', port, ...opts });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      socket.destroy();
    } finally {
      await closeServer(server);
    }
  });

  it('trust a bundle whose authority is an intermediate (not self-signed)', async () => {
    const viaIntermediate = pki.intermediate.svid('/server');
    const onlyIntermediate = new X509BundleSet(
      (await import('../bundle/index.js')).X509Bundle.fromAuthorities(ca.trustDomain, [pki.intermediate.certificate]),
    );
    const { server, port } = await recordingServer(viaIntermediate);
    try {
      const socket = tls.connect({ host: '127.0.0.1', port, ...tlsClientOptions(onlyIntermediate, authorizeId(SERVER)) });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      socket.destroy();
    } finally {
      await closeServer(server);
    }
  });

  it('carry agent: false so https.request does not pool them with other authorizers', () => {
    assert.equal(mtlsClientOptions(svids.client, bundles, authorizeId(SERVER)).agent, false);
    assert.equal(mtlsWebClientOptions(svids.client).agent, false);
  });
});
