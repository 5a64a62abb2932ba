/**
 * TLS 1.2 renegotiation is refused both ways: a client admitted with one SVID cannot swap in
 * another certificate, and a server cannot swap its own after the client verified it. The
 * attacker is a real OpenSSL peer (pyOpenSSL, `testing/renegotiating_peer.py`) that really
 * renegotiates with a certificate for spiffe://example.org/admin from a CA in no bundle.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import tls, { type TLSSocket } from 'node:tls';
import { describe, it } from 'node:test';
import { authorizeId } from '../authorize/index.js';
import { TlsPeerError } from '../errors.js';
import {
  createHttpsServer,
  createSpiffeHttpsAgent,
  createTlsServer,
  dial,
  formatTlsHandshakeError,
  listen,
  mtlsClientOptions,
  mtlsServerOptions,
  secureServer,
  tlsClientOptions,
  tlsServerOptions,
} from './index.js';
import { createHttp2SecureServer } from '../http2/index.js';
import { hostilePeerUnavailable, renegotiatingClient, renegotiatingServer } from './testing/hostile-peer.js';
import { closeServer, collect, delay, listenLocal, makePki, trackSockets } from './testing/fixtures.js';

const pki = makePki();
const { minted, svids, bundles } = pki;
const CLIENT = 'spiffe://example.org/client';
const SERVER = 'spiffe://example.org/server';
/** The forged identity: an X509-SVID for an ID the authorizer would not admit, from a CA in no bundle. */
const forgedAdmin = pki.rogueCa.svid('/admin');
const skip = hostilePeerUnavailable;

/** The URI SAN of the peer certificate Node reports now (the ordinary Node way to read it). */
function peerUri(socket: TLSSocket): string {
  return socket.getPeerCertificate().subjectaltname ?? '';
}

const serverCreators: Array<{ name: string; make: (onSocket: (socket: TLSSocket) => void) => tls.Server }> = [
  { name: 'createTlsServer', make: (onSocket) => createTlsServer(mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT)), onSocket) },
  {
    name: "createTlsServer (mode 'tls', no client certificate asked)",
    make: (onSocket) => createTlsServer(tlsServerOptions(svids.server), onSocket),
  },
  {
    name: 'secureServer',
    make: (onSocket) => secureServer(tls.createServer(onSocket), mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT))),
  },
  {
    name: 'listen',
    make: (onSocket) =>
      listen({ port: 0, host: '127.0.0.1', svidSource: svids.server, bundleSource: bundles, authorizer: authorizeId(CLIENT) }, onSocket),
  },
  {
    name: 'createHttpsServer',
    make: (onSocket) => {
      const server = createHttpsServer(mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT)), (req, res) =>
        res.end(peerUri(req.socket as TLSSocket)),
      );
      server.on('secureConnection', onSocket);
      return server;
    },
  },
  {
    name: 'createHttp2SecureServer',
    make: (onSocket) => {
      const server = createHttp2SecureServer(
        mtlsServerOptions(svids.server, bundles, authorizeId(CLIENT), { tlsOptions: { allowHTTP1: true } as tls.TlsOptions }),
      );
      server.on('secureConnection', onSocket);
      return server;
    },
  },
];

describe('a client that renegotiates to swap its certificate', { skip }, () => {
  for (const creator of serverCreators) {
    it(`is cut off by ${creator.name}, which emits spiffeRejected ERR_TLS_RENEGOTIATION_REFUSED`, async () => {
      const seen: string[] = [];
      const server = trackSockets(
        creator.make((socket) => {
          // The ordinary Node pattern: trust `authorized` and read the peer certificate.
          socket.on('data', () => {
            seen.push(`${String(socket.authorized)} ${peerUri(socket)}`);
            socket.write(`${peerUri(socket)}\n`);
          });
        }),
      );
      const rejected: Array<{ err: TlsPeerError; line: string }> = [];
      server.on('spiffeRejected', (err: TlsPeerError, socket: TLSSocket) =>
        rejected.push({ err, line: formatTlsHandshakeError(err, socket) }),
      );
      const port = await listenLocal(server);
      try {
        const attacker = renegotiatingClient(port, minted.client, forgedAdmin);
        const events = await attacker.done;
        const names = events.map((e) => e.event);
        assert.ok(names.includes('handshake'), `the attacker was admitted first: ${JSON.stringify(events)}`);
        assert.ok(names.includes('renegotiated_failed'), `OpenSSL refused the new handshake: ${JSON.stringify(events)}`);
        assert.ok(!names.includes('answer'), `no answer after the renegotiation: ${JSON.stringify(events)}`);
        assert.ok(!seen.some((s) => s.includes('/admin')), `the server never saw the forged certificate: ${JSON.stringify(seen)}`);
        for (let i = 0; i < 50 && rejected.length === 0; i++) await delay(20);
        assert.equal(rejected.length, 1, 'one spiffeRejected event');
        const { err, line } = rejected[0]!;
        assert.ok(err instanceof TlsPeerError);
        assert.equal(err.code, 'ERR_TLS_RENEGOTIATION_REFUSED');
        assert.match(
          line,
          /^TLS handshake error from 127\.0\.0\.1:\d+: the client of an established TLS 1\.2 connection tried to renegotiate/,
        );
      } finally {
        await closeServer(server);
      }
    });
  }
});

/** Talks to the hostile server: `who` at once and again after each answer; what came back, with the certificate Node reported then. */
async function converse(socket: TLSSocket): Promise<{ seen: string[]; error: Error | undefined }> {
  const seen: string[] = [];
  socket.on('data', (chunk: Buffer) => {
    seen.push(`${chunk.toString().trim()} ${peerUri(socket)}`);
    socket.write('who\n');
  });
  socket.write('who\n');
  const { error } = await collect(socket);
  return { seen, error };
}

const clients: Array<{ name: string; connect: (port: number) => Promise<TLSSocket> }> = [
  {
    name: 'dial',
    connect: (port) => dial({ host: '127.0.0.1', port, svidSource: svids.client, bundleSource: bundles, authorizer: authorizeId(SERVER) }),
  },
  {
    name: 'dial (mode tls)',
    connect: (port) => dial({ host: '127.0.0.1', port, mode: 'tls', bundleSource: bundles, authorizer: authorizeId(SERVER) }),
  },
  {
    name: 'tls.connect with mtlsClientOptions',
    connect: async (port) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ...mtlsClientOptions(svids.client, bundles, authorizeId(SERVER)) });
      await once(socket, 'secureConnect');
      return socket;
    },
  },
  {
    name: 'tls.connect with tlsClientOptions',
    connect: async (port) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ...tlsClientOptions(bundles, authorizeId(SERVER)) });
      await once(socket, 'secureConnect');
      return socket;
    },
  },
  {
    name: 'the socket of createSpiffeHttpsAgent',
    connect: (port) => {
      const agent = createSpiffeHttpsAgent({ svidSource: svids.client, bundleSource: bundles, authorizer: authorizeId(SERVER) });
      return new Promise((resolve, reject) =>
        agent.createConnection({ host: '127.0.0.1', port }, (err, socket) => (err ? reject(err) : resolve(socket as TLSSocket))),
      );
    },
  },
];

describe('a server that renegotiates to swap its certificate', { skip }, () => {
  for (const client of clients) {
    it(`is refused by ${client.name}: the client never sees the swapped certificate`, async () => {
      const attacker = renegotiatingServer(minted.server, forgedAdmin);
      const { port } = await attacker.next('listening');
      const socket = await client.connect(port!);
      assert.equal(peerUri(socket), `URI:${SERVER}`);
      const { seen } = await converse(socket);
      const events = await attacker.done;
      const names = events.map((e) => e.event);
      assert.ok(names.includes('renegotiated_failed'), `the client refused the new handshake: ${JSON.stringify(events)}`);
      assert.ok(!names.includes('second_answer'), `nothing sent after the renegotiation: ${JSON.stringify(events)}`);
      assert.deepEqual(seen, [`hello URI:${SERVER}`], 'nothing came from the swapped identity');
    });
  }
});
