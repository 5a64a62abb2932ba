import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import axios from 'axios';
import express from 'express';
import { authorizeId, authorizeOneOf } from '../authorize/index.js';
import { TlsPeerError } from '../errors.js';
import type { X509Svid } from '../svid/x509/index.js';
import { createHttpsServer, createSpiffeHttpsAgent, mtlsServerOptions, peerIdFromSocket, tlsServerOptions } from './index.js';
import { spiffeAuth } from '../express/index.js';
import { closeServer, delay, listenLocal, makePki, trackSockets } from './testing/fixtures.js';

const pki = makePki();
const { minted, svids, bundles } = pki;
const CLIENT = 'spiffe://example.org/client';
const SERVER = 'spiffe://example.org/server';

function request(agent: https.Agent, port: number, path = '/') {
  return new Promise<{ status: number; body: string; serverId: string }>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serverId: String(peerIdFromSocket(res.socket)) }));
      })
      .on('error', reject);
  });
}

const agentFor = (svid: X509Svid, expectServer = SERVER) =>
  createSpiffeHttpsAgent({ svidSource: svid, bundleSource: bundles, authorizer: authorizeId(expectServer) });

/** A TLS server presenting the 'other' SVID that records every byte it receives. */
async function impostor() {
  const received: Buffer[] = [];
  const server = trackSockets(
    tls.createServer({ cert: minted.other.certPem, key: minted.other.keyPem }, (socket) => {
      socket.on('data', (d: Buffer) => received.push(d));
      socket.on('error', () => {});
    }),
  );
  return { server, port: await listenLocal(server), received };
}

describe('https: createHttpsServer and createSpiffeHttpsAgent', () => {
  let server: https.Server;
  let port: number;
  const handled: string[] = [];
  const rejected: TlsPeerError[] = [];
  before(async () => {
    server = trackSockets(
      createHttpsServer(mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT)), (req, res) => {
        handled.push(req.url ?? '');
        res.end(`hello ${peerIdFromSocket(req.socket)}`);
      }),
    );
    server.on('spiffeRejected', (err: TlsPeerError) => rejected.push(err));
    port = await listenLocal(server);
  });
  after(() => closeServer(server));

  it('does an authenticated round trip; each side knows the other', async () => {
    const res = await request(agentFor(svids.client), port);
    assert.deepEqual(res, { status: 200, body: `hello ${CLIENT}`, serverId: SERVER });
  });

  it('keeps a keep-alive socket authenticated across requests', async () => {
    const agent = createSpiffeHttpsAgent({
      svidSource: svids.client,
      bundleSource: bundles,
      authorizer: authorizeId(SERVER),
      agentOptions: { keepAlive: true, maxSockets: 1 },
    });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await request(agent, port)).body, `hello ${CLIENT}`);
    } finally {
      agent.destroy();
    }
  });

  it('never hands a rejected client to the request handler', async () => {
    const count = handled.length;
    await assert.rejects(request(agentFor(svids.other), port, '/secret'));
    await delay(20);
    assert.equal(handled.length, count);
    assert.equal(rejected.at(-1)?.message, 'tls: unexpected ID "spiffe://example.org/other"');
  });

  it('rejects a server with an unexpected ID before writing the request', async () => {
    const fake = await impostor();
    try {
      await assert.rejects(request(agentFor(svids.client), fake.port), (err: Error) => {
        assert.ok(err instanceof TlsPeerError);
        assert.equal(err.message, 'tls: unexpected ID "spiffe://example.org/other"');
        return true;
      });
      await delay(30);
      assert.equal(Buffer.concat(fake.received).length, 0, 'no request byte may reach the impostor');
    } finally {
      await closeServer(fake.server);
    }
  });

  it('works as axios httpsAgent: round trip', async () => {
    const res = await axios.get(`https://127.0.0.1:${port}/axios`, { httpsAgent: agentFor(svids.client) });
    assert.equal(res.status, 200);
    assert.equal(res.data, `hello ${CLIENT}`);
  });

  it('works as axios httpsAgent: rejection of an impostor', async () => {
    const fake = await impostor();
    try {
      await assert.rejects(
        axios.get(`https://127.0.0.1:${fake.port}/`, { httpsAgent: agentFor(svids.client) }),
        (err: Error & { code?: string }) => {
          assert.match(err.message, /unexpected ID "spiffe:\/\/example\.org\/other"/);
          assert.equal(err.code, 'ERR_TLS_PEER_REJECTED');
          return true;
        },
      );
      assert.equal(Buffer.concat(fake.received).length, 0);
    } finally {
      await closeServer(fake.server);
    }
  });
});

describe('express: createHttpsServer(opts, app) with spiffeAuth()', () => {
  const app = express();
  app.use(spiffeAuth());
  app.get('/', (req, res) => {
    res.send(`hello ${req.spiffeId}`);
  });
  app.get('/ops', spiffeAuth({ authorizer: authorizeId('spiffe://example.org/ops') }), (req, res) => {
    res.send('ops only');
  });

  let server: https.Server;
  let port: number;
  before(async () => {
    server = trackSockets(createHttpsServer(mtlsServerOptions(svids.server, bundles, authorizeOneOf(CLIENT)), app));
    port = await listenLocal(server);
  });
  after(() => closeServer(server));

  it('sets req.spiffeId for an authenticated client', async () => {
    assert.deepEqual(await request(agentFor(svids.client), port), { status: 200, body: `hello ${CLIENT}`, serverId: SERVER });
  });

  it('answers 403 where a route authorizer refuses the client', async () => {
    const res = await request(agentFor(svids.client), port, '/ops');
    assert.equal(res.status, 403);
  });

  it('rejects an unexpected client before express sees it', async () => {
    await assert.rejects(request(agentFor(svids.other), port));
  });

  it('answers 403 on a server that does not authenticate clients', async () => {
    const open = trackSockets(createHttpsServer(tlsServerOptions(svids.server), app));
    const openPort = await listenLocal(open);
    try {
      const res = await request(agentFor(svids.client), openPort);
      assert.equal(res.status, 403);
      assert.match(res.body, /no authenticated SPIFFE client/);
    } finally {
      await closeServer(open);
    }
  });
});
