import assert from 'node:assert/strict';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { authorizeId, type Authorizer } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import { AuthorizationError, type TlsPeerError } from '../errors.js';
import { toPem, type TestSvid } from '../testing/ca.js';
import { createTlsServer, mtlsServerOptions, peerChainFromSocket, peerIdFromSocket } from './index.js';
import { closeServer, collect, delay, listenLocal, makePki, SwappableSource, trackSockets } from './testing/fixtures.js';

// The server reads only the client's leaf on each handshake and reuses what it verified for
// that leaf before (see verified-peers.ts). These cases pin down that nothing it
// remembers outlives the bundle, the authorities or the certificates' validity.

const pki = makePki();
const { minted, svids, ca, rogueCa, intermediate } = pki;
const CLIENT = 'spiffe://example.org/client';

async function server(bundleSource: X509BundleSource, authorizer: Authorizer = authorizeId(svids.client.id)) {
  const rejected: TlsPeerError[] = [];
  const srv = trackSockets(
    createTlsServer(mtlsServerOptions(svids.server, bundleSource, authorizer), (socket) => {
      socket.once('data', () => socket.end(String(peerIdFromSocket(socket))));
    }),
  );
  srv.on('spiffeRejected', (err: TlsPeerError) => rejected.push(err));
  return { srv, port: await listenLocal(srv), rejected };
}

/** One connection presenting `certPem`; resolves with what the server answered ('' if refused). */
function connect(port: number, certPem: string, keyPem: string): Promise<string> {
  const socket = tls.connect({ host: '127.0.0.1', port, cert: certPem, key: keyPem, rejectUnauthorized: false });
  socket.on('secureConnect', () => socket.write('hi'));
  return collect(socket).then(({ data }) => data);
}

const present = (svid: TestSvid): [string, string] => [svid.certPem, svid.keyPem];

describe('createTlsServer: remembered client verifications', () => {
  it('refuses a client it accepted once the bundle source returns a bundle without its CA', async () => {
    const source = new SwappableSource(ca.bundle());
    const { srv, port, rejected } = await server(source);
    try {
      assert.equal(await connect(port, ...present(minted.client)), CLIENT);
      assert.equal(await connect(port, ...present(minted.client)), CLIENT);
      source.bundle = rogueCa.bundle();
      assert.equal(await connect(port, ...present(minted.client)), '');
      assert.equal(rejected.at(-1)?.code, 'ERR_TLS_PEER_REJECTED');
      source.bundle = ca.bundle();
      assert.equal(await connect(port, ...present(minted.client)), CLIENT);
    } finally {
      await closeServer(srv);
    }
  });

  it('refuses it once its CA is removed from the same bundle object, and accepts it when added back', async () => {
    const bundle = ca.bundle();
    const [root] = bundle.authorities();
    const { srv, port } = await server(new SwappableSource(bundle));
    try {
      assert.equal(await connect(port, ...present(minted.client)), CLIENT);
      bundle.removeAuthority(root!);
      assert.equal(await connect(port, ...present(minted.client)), '');
      bundle.addAuthority(root!);
      assert.equal(await connect(port, ...present(minted.client)), CLIENT);
    } finally {
      await closeServer(srv);
    }
  });

  it('runs the authorizer on every connection of a remembered client', async () => {
    let calls = 0;
    let refuse = false;
    const authorizer: Authorizer = (id) => {
      calls++;
      if (refuse) throw new AuthorizationError(String(id));
    };
    const { srv, port } = await server(new SwappableSource(ca.bundle()), authorizer);
    try {
      for (let i = 0; i < 3; i++) assert.equal(await connect(port, ...present(minted.client)), CLIENT);
      assert.equal(calls, 3);
      refuse = true;
      assert.equal(await connect(port, ...present(minted.client)), '');
      assert.equal(calls, 4);
    } finally {
      await closeServer(srv);
    }
  });

  it('refuses a remembered client once its certificate has expired', async () => {
    const shortLived = ca.svid('/client', { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 1500) });
    const { srv, port, rejected } = await server(new SwappableSource(ca.bundle()));
    try {
      assert.equal(await connect(port, ...present(shortLived)), CLIENT);
      await delay(2000);
      assert.equal(await connect(port, ...present(shortLived)), '');
      assert.match(rejected.at(-1)?.message ?? '', /expired/);
    } finally {
      await closeServer(srv);
    }
  });

  it('verifies a leaf presented without its intermediate with the intermediate it verified with before', async () => {
    const viaIntermediate = minted.clientViaIntermediate;
    const leafOnly = toPem('CERTIFICATE', viaIntermediate.leaf.raw);
    const { srv, port } = await server(new SwappableSource(ca.bundle()));
    try {
      assert.equal(await connect(port, leafOnly, viaIntermediate.keyPem), '', 'never seen with its intermediate: no chain');
      assert.equal(await connect(port, ...present(viaIntermediate)), CLIENT);
      assert.equal(await connect(port, leafOnly, viaIntermediate.keyPem), CLIENT);
      assert.ok(intermediate.chain().length > 0);
    } finally {
      await closeServer(srv);
    }
  });

  it("leaves the client's presented chain whole for the listeners, on first sight and when remembered", async () => {
    const viaIntermediate = minted.clientViaIntermediate;
    const seen: Array<{ chain: number; issuer: Buffer | undefined; peerChain: number | undefined }> = [];
    const srv = trackSockets(
      createTlsServer(mtlsServerOptions(svids.server, new SwappableSource(ca.bundle()), authorizeId(CLIENT)), (socket) => {
        const detailed = socket.getPeerCertificate(true);
        let chain = 0;
        for (
          let c: tls.DetailedPeerCertificate | undefined = detailed;
          c?.raw && chain < 5;
          c = c.issuerCertificate === c ? undefined : c.issuerCertificate
        )
          chain++;
        seen.push({ chain, issuer: detailed.issuerCertificate?.raw, peerChain: peerChainFromSocket(socket)?.length });
        socket.once('data', () => socket.end(String(peerIdFromSocket(socket))));
      }),
    );
    const port = await listenLocal(srv);
    try {
      assert.equal(await connect(port, ...present(viaIntermediate)), CLIENT);
      assert.equal(await connect(port, ...present(viaIntermediate)), CLIENT);
      assert.equal(seen.length, 2);
      for (const s of seen) {
        assert.equal(s.chain, 2);
        assert.equal(s.peerChain, 2);
        assert.deepEqual(new Uint8Array(s.issuer!), new Uint8Array(viaIntermediate.chainDer[1]!));
      }
    } finally {
      await closeServer(srv);
    }
  });
});
