import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { authorizeId, type Authorizer } from '../authorize/index.js';
import { X509BundleSet } from '../bundle/index.js';
import { AuthorizationError, type TlsPeerError } from '../errors.js';
import type { TestSvid } from '../testing/ca.js';
import {
  createHttpsServer,
  createSpiffeHttpsAgent,
  createTlsServer,
  dial,
  mtlsServerOptions,
  peerIdFromSocket,
  secureServer,
  tlsServerOptions,
} from './index.js';
import {
  closeServer,
  collect,
  delay,
  listenLocal,
  makePki,
  RotatingSvidSource,
  SilentSvidSource,
  toSvid,
  trackSockets,
} from './testing/fixtures.js';

const pki = makePki();
const { minted, svids, bundles, ca } = pki;
const CLIENT = 'spiffe://example.org/client';
const SERVER = 'spiffe://example.org/server';

function get(agent: https.Agent, port: number): Promise<{ status: number; body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      let body = '';
      const serial = (res.socket as tls.TLSSocket).getPeerX509Certificate()?.serialNumber ?? '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial }));
    });
    req.on('error', reject);
  });
}

describe('SVID rotation', () => {
  it('keeps serving 200 sequential https requests while the server SVID rotates 5 times', async () => {
    const source = new RotatingSvidSource(svids.server);
    const server = trackSockets(
      createHttpsServer(mtlsServerOptions(source, bundles, authorizeId(CLIENT)), (req, res) => {
        res.end(String(peerIdFromSocket(req.socket)));
      }),
    );
    const port = await listenLocal(server);
    const agent = createSpiffeHttpsAgent({ svidSource: svids.client, bundleSource: bundles, authorizer: authorizeId(SERVER) });
    const serials = new Set<string>();
    let failures = 0;
    try {
      for (let i = 0; i < 200; i++) {
        if (i % 40 === 20) source.set(toSvid(ca.svid('/server')));
        try {
          const res = await get(agent, port);
          if (res.status !== 200 || res.body !== CLIENT) failures++;
          serials.add(res.serial);
        } catch {
          failures++;
        }
      }
      assert.equal(failures, 0);
      assert.equal(serials.size, 6, 'each of the 6 SVIDs must have been presented');
    } finally {
      agent.destroy();
      await closeServer(server);
    }
  });

  it('notices a new SVID from a source without events on the next connection', async () => {
    const source = new SilentSvidSource(svids.server);
    const server = trackSockets(createTlsServer(tlsServerOptions(source), (s) => s.end('x')));
    const port = await listenLocal(server);
    const serialOf = async () => {
      const socket = await dial({ host: '127.0.0.1', port, mode: 'tls', bundleSource: bundles, authorizer: authorizeId(SERVER) });
      const serial = socket.getPeerX509Certificate()?.serialNumber;
      socket.destroy();
      return serial;
    };
    try {
      const first = await serialOf();
      assert.equal(await serialOf(), first, 'unchanged source, unchanged certificate');
      const next = toSvid(ca.svid('/server'));
      source.svid = next;
      assert.equal(await serialOf(), next.certificates[0]?.serialNumber);
    } finally {
      await closeServer(server);
    }
  });

  it('keeps established connections up across a rotation', async () => {
    const source = new RotatingSvidSource(svids.server);
    const server = trackSockets(
      createTlsServer(mtlsServerOptions(source, bundles, authorizeId(CLIENT)), (socket) => {
        socket.on('data', (d: Buffer) => socket.write(d));
      }),
    );
    const port = await listenLocal(server);
    try {
      const socket = await dial({
        host: '127.0.0.1',
        port,
        svidSource: svids.client,
        bundleSource: bundles,
        authorizer: authorizeId(SERVER),
      });
      const before = socket.getPeerX509Certificate()?.serialNumber;
      for (let i = 0; i < 3; i++) source.set(toSvid(ca.svid('/server')));
      socket.write('still there?');
      const [echo] = (await once(socket, 'data')) as [Buffer];
      assert.equal(echo.toString(), 'still there?');
      const fresh = await dial({
        host: '127.0.0.1',
        port,
        svidSource: svids.client,
        bundleSource: bundles,
        authorizer: authorizeId(SERVER),
      });
      assert.notEqual(fresh.getPeerX509Certificate()?.serialNumber, before);
      fresh.destroy();
      socket.destroy();
    } finally {
      await closeServer(server);
    }
  });

  it("presents the client's current SVID on each new connection", async () => {
    const seen: string[] = [];
    const server = trackSockets(
      createTlsServer(mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT)), (socket) => {
        seen.push(socket.getPeerX509Certificate()?.serialNumber ?? '');
        socket.end();
      }),
    );
    const port = await listenLocal(server);
    const source = new RotatingSvidSource(svids.client);
    try {
      const open = async () => {
        const socket = await dial({ host: '127.0.0.1', port, svidSource: source, bundleSource: bundles, authorizer: authorizeId(SERVER) });
        await collect(socket);
      };
      await open();
      const next = toSvid(ca.svid('/client'));
      source.set(next);
      await open();
      assert.deepEqual(seen, [svids.client.certificates[0]?.serialNumber, next.certificates[0]?.serialNumber]);
    } finally {
      await closeServer(server);
    }
  });

  it('verifies each client against the bundles as they are at its handshake', async () => {
    const live = new X509BundleSet(pki.otherCa.bundle());
    const rejected: TlsPeerError[] = [];
    const server = trackSockets(createTlsServer(mtlsServerOptions(svids.server, live, authorizeId(CLIENT)), (s) => s.end('ok')));
    server.on('spiffeRejected', (err: TlsPeerError) => rejected.push(err));
    const port = await listenLocal(server);
    const attempt = async () => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        cert: minted.client.certPem,
        key: minted.client.keyPem,
        rejectUnauthorized: false,
      });
      return (await collect(socket)).data;
    };
    try {
      assert.equal(await attempt(), '');
      assert.equal(rejected.at(-1)?.reason?.code, 'ERR_X509SVID_UNTRUSTED');
      live.add(ca.bundle());
      assert.equal(await attempt(), 'ok');
      live.remove(ca.trustDomain);
      assert.equal(await attempt(), '');
    } finally {
      await closeServer(server);
    }
  });
});

/** Connects with a raw node:tls client, optionally resuming `session`. */
function rawConnect(port: number, svid: TestSvid, options: tls.ConnectionOptions = {}) {
  return new Promise<{ data: string; reused: boolean; session: Buffer | undefined }>((resolve) => {
    let session: Buffer | undefined;
    let reused = false;
    const socket = tls.connect({ host: '127.0.0.1', port, cert: svid.certPem, key: svid.keyPem, rejectUnauthorized: false, ...options });
    socket.on('session', (s: Buffer) => (session = s));
    socket.on('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write('hi');
    });
    void collect(socket).then(({ data }) => resolve({ data, reused, session }));
  });
}

function countingAuthorizer(expected: string) {
  const state = { calls: 0, refuse: false };
  const authorizer: Authorizer = (id) => {
    state.calls++;
    if (state.refuse || String(id) !== expected) throw new AuthorizationError(String(id));
  };
  return { state, authorizer };
}

async function echoIdServer(
  options: Parameters<typeof mtlsServerOptions>[3],
  authorizer: Authorizer,
  source = svids.server as Parameters<typeof mtlsServerOptions>[0],
) {
  const rejected: TlsPeerError[] = [];
  const server = trackSockets(
    createTlsServer(mtlsServerOptions(source, bundles, authorizer, options), (socket) => {
      socket.once('data', () => socket.end(String(peerIdFromSocket(socket))));
    }),
  );
  server.on('spiffeRejected', (err: TlsPeerError) => rejected.push(err));
  const port = await listenLocal(server);
  return { server, port, rejected };
}

describe('TLS sessions', () => {
  for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
    it(`sends no resumable session by default (${maxVersion})`, async () => {
      const { state, authorizer } = countingAuthorizer(CLIENT);
      const { server, port } = await echoIdServer(undefined, authorizer);
      try {
        const first = await rawConnect(port, minted.client, { maxVersion });
        assert.equal(first.data, CLIENT);
        const second = await rawConnect(port, minted.client, { maxVersion, ...(first.session ? { session: first.session } : {}) });
        assert.equal(second.reused, false, 'the second connection must be a full handshake');
        assert.equal(second.data, CLIENT);
        assert.equal(state.calls, 2);
      } finally {
        await closeServer(server);
      }
    });

    it(`with resumption: true, resumes but re-runs the authorizer on every resumed connection (${maxVersion})`, async () => {
      const { state, authorizer } = countingAuthorizer(CLIENT);
      const { server, port, rejected } = await echoIdServer({ resumption: true }, authorizer);
      try {
        const first = await rawConnect(port, minted.client, { maxVersion });
        assert.ok(first.session, 'a session to resume');
        const second = await rawConnect(port, minted.client, { maxVersion, session: first.session });
        assert.equal(second.reused, true);
        assert.equal(second.data, CLIENT);
        assert.equal(state.calls, 2, 'the resumed connection was authorized again');
        state.refuse = true;
        const third = await rawConnect(port, minted.client, { maxVersion, session: first.session });
        assert.equal(third.reused, true);
        assert.equal(third.data, '', 'a resumed connection the authorizer refuses is closed');
        assert.equal(rejected.at(-1)?.code, 'ERR_TLS_PEER_REJECTED');
      } finally {
        await closeServer(server);
      }
    });
  }

  it('with resumption: true, re-verifies the chain of a resumed client that has an intermediate CA', async () => {
    const { authorizer } = countingAuthorizer(CLIENT);
    const { server, port } = await echoIdServer({ resumption: true }, authorizer);
    try {
      const first = await rawConnect(port, minted.clientViaIntermediate);
      const second = await rawConnect(port, minted.clientViaIntermediate, { session: first.session });
      assert.equal(second.reused, true);
      assert.equal(second.data, CLIENT);
    } finally {
      await closeServer(server);
    }
  });

  it('with resumption: true, refuses a resumed client once its CA left the bundle', async () => {
    const live = new X509BundleSet(ca.bundle());
    const rejected: TlsPeerError[] = [];
    const server = trackSockets(
      createTlsServer(mtlsServerOptions(svids.server, live, authorizeId(CLIENT), { resumption: true }), (socket) => {
        socket.once('data', () => socket.end(String(peerIdFromSocket(socket))));
      }),
    );
    server.on('spiffeRejected', (err: TlsPeerError) => rejected.push(err));
    const port = await listenLocal(server);
    try {
      const first = await rawConnect(port, minted.client);
      assert.equal(first.data, CLIENT);
      live.remove(ca.trustDomain);
      live.add(pki.rogueCa.bundle());
      const second = await rawConnect(port, minted.client, { session: first.session });
      assert.equal(second.reused, true, 'the server resumed the session');
      assert.equal(second.data, '', 'and then refused the client');
      assert.equal(rejected.at(-1)?.code, 'ERR_TLS_PEER_REJECTED');
      assert.equal(rejected.at(-1)?.reason?.code, 'ERR_X509SVID_UNTRUSTED');
    } finally {
      await closeServer(server);
    }
  });

  it('with resumption: true, refuses a resumed client whose SVID has expired since', async () => {
    const notAfter = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2000);
    const shortLived = ca.svid('/client', { notAfter });
    const { authorizer } = countingAuthorizer(CLIENT);
    const { server, port, rejected } = await echoIdServer({ resumption: true }, authorizer);
    try {
      const first = await rawConnect(port, shortLived);
      assert.equal(first.data, CLIENT);
      while (Date.now() <= notAfter.getTime() + 1000) await delay(200);
      const second = await rawConnect(port, shortLived, { session: first.session });
      assert.equal(second.reused, true, 'the server resumed the session');
      assert.equal(second.data, '', 'and then refused the client');
      assert.equal(rejected.at(-1)?.reason?.code, 'ERR_X509SVID_EXPIRED');
    } finally {
      await closeServer(server);
    }
  });

  it('with resumption: true, sessions from before an SVID rotation are not resumed', async () => {
    const source = new RotatingSvidSource(svids.server);
    const { authorizer } = countingAuthorizer(CLIENT);
    const { server, port } = await echoIdServer({ resumption: true }, authorizer, source);
    try {
      const first = await rawConnect(port, minted.client);
      source.set(toSvid(ca.svid('/server')));
      const second = await rawConnect(port, minted.client, { session: first.session });
      assert.equal(second.reused, false);
      assert.equal(second.data, CLIENT);
    } finally {
      await closeServer(server);
    }
  });
});

describe('cipher suites', () => {
  /** The suite a default node:tls client ends up with against a server of `options`. */
  async function negotiated(tuning: Parameters<typeof mtlsServerOptions>[3], connect: tls.ConnectionOptions = {}) {
    const server = trackSockets(
      createTlsServer(mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT), tuning), (socket) =>
        socket.end(socket.getCipher().name),
      ),
    );
    const port = await listenLocal(server);
    try {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        cert: minted.client.certPem,
        key: minted.client.keyPem,
        rejectUnauthorized: false,
        ...connect,
      });
      return (await collect(socket)).data;
    } finally {
      await closeServer(server);
    }
  }

  it('prefers TLS_AES_128_GCM_SHA256 over the AES-256 suite Node clients list first', async () => {
    assert.ok(tls.DEFAULT_CIPHERS.startsWith('TLS_AES_256_GCM_SHA384'));
    assert.equal(await negotiated(undefined), 'TLS_AES_128_GCM_SHA256');
  });

  it('still agrees on another suite with a client that does not offer it', async () => {
    assert.equal(await negotiated(undefined, { ciphers: 'TLS_CHACHA20_POLY1305_SHA256' }), 'TLS_CHACHA20_POLY1305_SHA256');
    assert.equal(await negotiated(undefined, { maxVersion: 'TLSv1.2' }), 'ECDHE-ECDSA-AES128-GCM-SHA256');
  });

  it('uses the suites of tuning.tlsOptions.ciphers when they are given', async () => {
    assert.equal(await negotiated({ tlsOptions: { ciphers: 'TLS_AES_256_GCM_SHA384' } }), 'TLS_AES_256_GCM_SHA384');
  });
});

describe('secureServer', () => {
  it('secures an https.Server made elsewhere', async () => {
    const server = trackSockets(
      secureServer(
        https.createServer((req, res) => res.end(String(peerIdFromSocket(req.socket)))),
        mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT)),
      ),
    );
    const rejected: TlsPeerError[] = [];
    server.on('spiffeRejected', (err: TlsPeerError) => rejected.push(err));
    const port = await listenLocal(server);
    try {
      const good = createSpiffeHttpsAgent({ svidSource: svids.client, bundleSource: bundles, authorizer: authorizeId(SERVER) });
      assert.deepEqual((await get(good, port)).body, CLIENT);
      const bad = createSpiffeHttpsAgent({ svidSource: svids.other, bundleSource: bundles, authorizer: authorizeId(SERVER) });
      await assert.rejects(get(bad, port));
      await delay(20);
      assert.equal(rejected.at(-1)?.message, 'tls: unexpected ID "spiffe://example.org/other"');
    } finally {
      await closeServer(server);
    }
  });

  const misuse: Array<{ name: string; run: () => unknown; message: RegExp }> = [
    {
      name: 'a server that is not a tls.Server',
      run: () => secureServer({} as never, tlsServerOptions(svids.server)),
      message: /expected a tls\.Server/,
    },
    {
      name: 'options that are not SPIFFE options',
      run: () => secureServer(tls.createServer(), { cert: 'x' } as never),
      message: /expected options from/,
    },
    {
      name: 'securing a server twice',
      run: () => secureServer(createTlsServer(tlsServerOptions(svids.server)), tlsServerOptions(svids.server)),
      message: /already carries SPIFFE options/,
    },
  ];
  for (const c of misuse) {
    it(`refuses ${c.name}`, () => {
      assert.throws(c.run, (err: Error) => err instanceof TypeError && c.message.test(err.message));
    });
  }
});
