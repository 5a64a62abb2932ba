import assert from 'node:assert/strict';
import type https from 'node:https';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { fetch } from 'undici';
import { authorizeId } from '../authorize/index.js';
import { TlsPeerError } from '../errors.js';
import { createHttpsServer, mtlsServerOptions, peerIdFromSocket } from './index.js';
import { createSpiffeDispatcher } from './undici.js';
import { closeServer, delay, listenLocal, makePki, RotatingSvidSource, toSvid, trackSockets } from './testing/fixtures.js';

const pki = makePki();
const { minted, svids, bundles } = pki;
const CLIENT = 'spiffe://example.org/client';
const SERVER = 'spiffe://example.org/server';

describe('fetch through createSpiffeDispatcher (undici)', () => {
  let server: https.Server;
  let port: number;
  const rejected: TlsPeerError[] = [];
  before(async () => {
    server = trackSockets(
      createHttpsServer(mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT)), (req, res) => {
        res.end(`hello ${peerIdFromSocket(req.socket)}`);
      }),
    );
    server.on('spiffeRejected', (err: TlsPeerError) => rejected.push(err));
    port = await listenLocal(server);
  });
  after(() => closeServer(server));

  it('does an authenticated round trip', async () => {
    const dispatcher = createSpiffeDispatcher({ svidSource: svids.client, bundleSource: bundles, authorizer: authorizeId(SERVER) });
    try {
      const res = await fetch(`https://127.0.0.1:${port}/`, { dispatcher });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), `hello ${CLIENT}`);
    } finally {
      await dispatcher.close();
    }
  });

  it('presents the current SVID on new connections', async () => {
    const source = new RotatingSvidSource(svids.other);
    const dispatcher = createSpiffeDispatcher({
      svidSource: source,
      bundleSource: bundles,
      authorizer: authorizeId(SERVER),
      agentOptions: { pipelining: 0 },
    });
    try {
      await assert.rejects(fetch(`https://127.0.0.1:${port}/`, { dispatcher }));
      assert.equal(rejected.at(-1)?.message, 'tls: unexpected ID "spiffe://example.org/other"');
      source.set(toSvid(pki.ca.svid('/client')));
      const res = await fetch(`https://127.0.0.1:${port}/`, { dispatcher });
      assert.equal(await res.text(), `hello ${CLIENT}`);
    } finally {
      await dispatcher.close();
    }
  });

  it('rejects a server with an unexpected ID before sending the request', async () => {
    const received: Buffer[] = [];
    const fake = trackSockets(
      tls.createServer({ cert: minted.other.certPem, key: minted.other.keyPem }, (socket) => {
        socket.on('data', (d: Buffer) => received.push(d));
        socket.on('error', () => {});
      }),
    );
    const fakePort = await listenLocal(fake);
    const dispatcher = createSpiffeDispatcher({ svidSource: svids.client, bundleSource: bundles, authorizer: authorizeId(SERVER) });
    try {
      await assert.rejects(fetch(`https://127.0.0.1:${fakePort}/`, { dispatcher }), (err: Error) => {
        const cause = (err as { cause?: unknown }).cause;
        assert.ok(cause instanceof TlsPeerError, String(cause));
        assert.equal(cause.message, 'tls: unexpected ID "spiffe://example.org/other"');
        return true;
      });
      await delay(30);
      assert.equal(Buffer.concat(received).length, 0);
    } finally {
      await dispatcher.close();
      await closeServer(fake);
    }
  });

  it('refuses plain http URLs', async () => {
    const dispatcher = createSpiffeDispatcher({ svidSource: svids.client, bundleSource: bundles, authorizer: authorizeId(SERVER) });
    try {
      await assert.rejects(fetch(`http://127.0.0.1:${port}/`, { dispatcher }), (err: Error) => {
        assert.match(String((err as { cause?: Error }).cause?.message), /only https: URLs/);
        return true;
      });
    } finally {
      await dispatcher.close();
    }
  });
});
