/**
 * Client-side TLS session resumption: a resumed session is never accepted without the full
 * SPIFFE check against the bundle and authorizer current at that connection.
 *
 * The servers here are ordinary node:tls servers that present the server's SVID and resume any
 * session they issued (tickets, TLS 1.3 and TLS 1.2): the client alone must hold the line.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import tls, { type TLSSocket } from 'node:tls';
import { describe, it } from 'node:test';
import { AuthorizationError, TlsPeerError } from '../errors.js';
import { authorizeId, type Authorizer } from '../authorize/index.js';
import { X509BundleSet } from '../bundle/index.js';
import type { TestSvid } from '../testing/ca.js';
import { createSpiffeHttpsAgent, dial, mtlsClientOptions, peerIdFromSocket, tlsClientOptions } from './index.js';
import { connectHttp2 } from '../http2/index.js';
import { createSpiffeDispatcher } from './undici.js';
import { closeServer, listenLocal, makePki, trackSockets } from './testing/fixtures.js';

const pki = makePki();
const { minted, svids, bundles, ca } = pki;
const SERVER = 'spiffe://example.org/server';

type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** A server that presents `svid`, resumes every session it issued, and answers "ok". */
async function resumingServer(svid: TestSvid = minted.server, maxVersion: TlsVersion = 'TLSv1.3') {
  const server = trackSockets(
    tls.createServer({ cert: svid.certPem, key: svid.keyPem, maxVersion, ALPNProtocols: ['http/1.1', 'h2'] }, (socket) => {
      socket.on('error', () => {});
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
    }),
  );
  const port = await listenLocal(server);
  return { server, port };
}

/** Counts the calls of an authorizer that admits `expected` until told to refuse everyone. */
function countingAuthorizer(expected = SERVER) {
  const state = { calls: 0, refuse: false };
  const authorizer: Authorizer = (id) => {
    state.calls++;
    if (state.refuse || String(id) !== expected) throw new AuthorizationError(String(id));
  };
  return { state, authorizer };
}

interface Outcome {
  authorized: boolean;
  reused: boolean;
  error: Error | undefined;
  session: Buffer | undefined;
  peerId: string | undefined;
}

/** One tls.connect; resolves once the socket is closed, with what happened. */
function connect(options: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { authorized: false, reused: false, error: undefined, session: undefined, peerId: undefined };
    const socket = tls.connect(options);
    socket.on('secureConnect', () => {
      outcome.authorized = socket.authorized;
      outcome.reused = socket.isSessionReused();
      outcome.peerId = peerIdFromSocket(socket)?.toString();
    });
    socket.on('session', (s: Buffer) => (outcome.session = s));
    socket.on('error', (err: Error) => (outcome.error = err));
    socket.on('data', () => {});
    socket.on('close', () => resolve(outcome));
  });
}

/** A first connection that must succeed and leave a session behind. */
async function sessionFrom(port: number, options: tls.ConnectionOptions): Promise<Buffer> {
  const first = await connect({ host: '127.0.0.1', port, ...options });
  assert.equal(first.error, undefined);
  assert.equal(first.authorized, true);
  assert.ok(first.session, 'the server issued a session');
  return first.session;
}

function assertRefused(outcome: Outcome, reason: RegExp): void {
  assert.equal(outcome.authorized, false, 'never reported authorized');
  assert.ok(outcome.error instanceof TlsPeerError, `refused with a TlsPeerError, got ${String(outcome.error)}`);
  assert.match(outcome.error.message, reason);
}

describe('plain client options and a resumed session', () => {
  for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
    describe(`server at ${maxVersion}`, () => {
      it('resume when the session is passed, and still run the full check (authorizer called, peer recorded)', async () => {
        const { state, authorizer } = countingAuthorizer();
        const { server, port } = await resumingServer(undefined, maxVersion);
        try {
          const opts = tlsClientOptions(bundles, authorizer);
          const session = await sessionFrom(port, opts);
          const calls = state.calls;
          const second = await connect({ host: '127.0.0.1', port, ...opts, session });
          assert.equal(second.error, undefined);
          assert.equal(second.reused, true, 'the session was resumed');
          assert.equal(second.authorized, true);
          assert.equal(state.calls, calls + 1, 'the authorizer ran for the resumed connection');
          assert.equal(second.peerId, SERVER);
        } finally {
          await closeServer(server);
        }
      });

      it('refuse a session from options with another authorizer, against a bundle that trusts nothing', async () => {
        const { server, port } = await resumingServer(undefined, maxVersion);
        try {
          const session = await sessionFrom(port, mtlsClientOptions(svids.client, bundles, authorizeId(SERVER)));
          const { state, authorizer } = countingAuthorizer();
          state.refuse = true;
          const nothing = new X509BundleSet();
          const second = await connect({ host: '127.0.0.1', port, ...mtlsClientOptions(svids.client, nothing, authorizer), session });
          assertRefused(second, /no bundle|not trusted|bundle/i);
        } finally {
          await closeServer(server);
        }
      });

      it('refuse a resumed session once the authorizer refuses the server', async () => {
        const { state, authorizer } = countingAuthorizer();
        const { server, port } = await resumingServer(undefined, maxVersion);
        try {
          const opts = tlsClientOptions(bundles, authorizer);
          const session = await sessionFrom(port, opts);
          state.refuse = true;
          const calls = state.calls;
          const second = await connect({ host: '127.0.0.1', port, ...opts, session });
          assertRefused(second, /unexpected ID "spiffe:\/\/example\.org\/server"/);
          assert.equal(state.calls, calls + 1);
        } finally {
          await closeServer(server);
        }
      });

      it('refuse a resumed session once the CA left the bundle', async () => {
        const live = new X509BundleSet(ca.bundle());
        const { server, port } = await resumingServer(undefined, maxVersion);
        try {
          const opts = tlsClientOptions(live, authorizeId(SERVER));
          const session = await sessionFrom(port, opts);
          live.remove(ca.trustDomain);
          live.add(pki.rogueCa.bundle());
          const second = await connect({ host: '127.0.0.1', port, ...opts, session });
          assertRefused(second, /.+/);
          assert.equal(second.error?.name, 'TlsPeerError');
        } finally {
          await closeServer(server);
        }
      });

      it('verify a resumed session whose server SVID has an intermediate', async () => {
        const viaIntermediate = pki.intermediate.svid('/server');
        const { server, port } = await resumingServer(viaIntermediate, maxVersion);
        try {
          const opts = tlsClientOptions(bundles, authorizeId(SERVER));
          const session = await sessionFrom(port, opts);
          const second = await connect({ host: '127.0.0.1', port, ...opts, session });
          assert.equal(second.error, undefined);
          assert.equal(second.reused, true);
          assert.equal(second.peerId, SERVER);
        } finally {
          await closeServer(server);
        }
      });
    });
  }

  it('a caller cannot make a TLS 1.2-only client that skips the check: maxVersion is ignored beside the options', async () => {
    const { state, authorizer } = countingAuthorizer();
    const { server, port } = await resumingServer(undefined, 'TLSv1.2');
    try {
      const opts = tlsClientOptions(bundles, authorizer);
      const session = await sessionFrom(port, { ...opts, maxVersion: 'TLSv1.2' });
      state.refuse = true;
      const second = await connect({ host: '127.0.0.1', port, ...opts, maxVersion: 'TLSv1.2', session });
      assertRefused(second, /unexpected ID/);
    } finally {
      await closeServer(server);
    }
  });

  it('refuse a resumed session once the server SVID expired', async () => {
    const notAfter = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2000);
    const shortLived = ca.svid('/server', { notAfter });
    const { server, port } = await resumingServer(shortLived);
    try {
      const opts = tlsClientOptions(bundles, authorizeId(SERVER));
      const session = await sessionFrom(port, opts);
      while (Date.now() <= notAfter.getTime() + 1000) await new Promise((r) => setTimeout(r, 200));
      const second = await connect({ host: '127.0.0.1', port, ...opts, session });
      assertRefused(second, /expired/);
    } finally {
      await closeServer(server);
    }
  });

  it('an https.Agent does not resume with them, so options with another authorizer never share a session', async () => {
    const { server, port } = await resumingServer();
    const agent = new https.Agent({ keepAlive: false });
    const get = (opts: tls.ConnectionOptions) =>
      new Promise<{ socket: TLSSocket | undefined; error: Error | undefined }>((resolve) => {
        const req = https.get({ host: '127.0.0.1', port, path: '/', ...opts, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ socket: res.socket as TLSSocket, error: undefined }));
        });
        req.on('error', (error) => resolve({ socket: undefined, error }));
      });
    try {
      const { state, authorizer } = countingAuthorizer();
      const first = await get(tlsClientOptions(bundles, authorizer));
      assert.equal(first.error, undefined);
      const second = await get(tlsClientOptions(bundles, authorizer));
      assert.equal(second.error, undefined);
      assert.equal(second.socket?.isSessionReused(), false, 'no session from the agent cache');
      assert.equal(state.calls, 2);
      const refusing = countingAuthorizer();
      refusing.state.refuse = true;
      const third = await get(tlsClientOptions(bundles, refusing.authorizer));
      assert.ok(third.error instanceof TlsPeerError, `refused: ${String(third.error)}`);
      assert.equal(refusing.state.calls, 1);
    } finally {
      agent.destroy();
      await closeServer(server);
    }
  });
});

describe('the helpers never resume and verify every connection', () => {
  it('dial drops a session passed in tlsOptions', async () => {
    const { state, authorizer } = countingAuthorizer();
    const { server, port } = await resumingServer();
    try {
      const session = await sessionFrom(port, tlsClientOptions(bundles, authorizeId(SERVER)));
      state.refuse = true;
      await assert.rejects(
        dial({ host: '127.0.0.1', port, mode: 'tls', bundleSource: bundles, authorizer, tlsOptions: { session } }),
        (err: Error) => err instanceof TlsPeerError && /unexpected ID/.test(err.message),
      );
      state.refuse = false;
      const socket = await dial({ host: '127.0.0.1', port, mode: 'tls', bundleSource: bundles, authorizer, tlsOptions: { session } });
      assert.equal(socket.isSessionReused(), false);
      assert.equal(state.calls, 2);
      socket.destroy();
    } finally {
      await closeServer(server);
    }
  });

  it('createSpiffeHttpsAgent, createSpiffeDispatcher and connectHttp2 run the authorizer on every new connection', async () => {
    const { state, authorizer } = countingAuthorizer();
    const { server, port } = await resumingServer();
    const agent = createSpiffeHttpsAgent({ bundleSource: bundles, authorizer });
    try {
      for (let i = 0; i < 2; i++) {
        const reused = await new Promise<boolean>((resolve, reject) => {
          https
            .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
              const socket = res.socket as TLSSocket;
              res.resume();
              res.on('end', () => resolve(socket.isSessionReused()));
            })
            .on('error', reject);
        });
        assert.equal(reused, false);
      }
      assert.equal(state.calls, 2);
      const { request } = await import('undici');
      const dispatcher = createSpiffeDispatcher({ bundleSource: bundles, authorizer });
      for (let i = 0; i < 2; i++) {
        const res = await request(`https://127.0.0.1:${port}/`, { dispatcher, reset: true });
        assert.equal(await res.body.text(), 'ok');
      }
      await dispatcher.close();
      assert.equal(state.calls, 4);
      state.refuse = true;
      await assert.rejects(connectHttp2(`https://127.0.0.1:${port}`, { bundleSource: bundles, authorizer }), TlsPeerError);
      assert.equal(state.calls, 5);
    } finally {
      agent.destroy();
      await closeServer(server);
    }
  });
});
