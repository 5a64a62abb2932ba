import assert from 'node:assert/strict';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { authorizeId, type Authorizer } from '../authorize/index.js';
import type { X509BundleSource } from '../bundle/index.js';
import { AuthorizationError, TlsPeerError } from '../errors.js';
import { toPem, type TestSvid } from '../testing/ca.js';
import { dial, peerChainFromSocket, peerIdFromSocket } from './index.js';
import { closeServer, delay, listenLocal, makePki, SwappableSource, trackSockets } from './testing/fixtures.js';

// The client helpers remember, per bundle source, the server leaves they verified (see
// verified-peers.ts), as servers do for their clients. These cases pin down that nothing
// remembered outlives the bundle, the authorities or the certificates' validity, and that the
// authorizer runs on every connection.

const { minted, ca, rogueCa } = makePki();
const SERVER = 'spiffe://example.org/server';

/** A plain node:tls server presenting `certPem` (a chain, or a lone leaf) and answering "ok". */
async function server(certPem: string, keyPem: string) {
  const srv = trackSockets(tls.createServer({ cert: certPem, key: keyPem }, (socket) => socket.end('ok')));
  return { srv, port: await listenLocal(srv) };
}

/** One `dial` in 'tls' mode; resolves with the server's verified ID, or the error. */
async function connect(port: number, bundleSource: X509BundleSource, authorizer: Authorizer = authorizeId(SERVER)) {
  try {
    const socket = await dial({ host: '127.0.0.1', port, mode: 'tls', bundleSource, authorizer });
    const id = String(peerIdFromSocket(socket));
    const chain = peerChainFromSocket(socket)?.length;
    socket.destroy();
    return { id, chain };
  } catch (err) {
    return { error: err as Error };
  }
}

const present = (svid: TestSvid): [string, string] => [svid.certPem, svid.keyPem];

describe('dial: remembered server verifications', () => {
  it('refuses a server it accepted once the bundle source returns a bundle without its CA', async () => {
    const source = new SwappableSource(ca.bundle());
    const { srv, port } = await server(...present(minted.server));
    try {
      assert.equal((await connect(port, source)).id, SERVER);
      assert.equal((await connect(port, source)).id, SERVER);
      source.bundle = rogueCa.bundle();
      const refused = await connect(port, source);
      assert.ok(refused.error instanceof TlsPeerError, String(refused.error));
      source.bundle = ca.bundle();
      assert.equal((await connect(port, source)).id, SERVER);
    } finally {
      await closeServer(srv);
    }
  });

  it('refuses it once its CA is removed from the same bundle object, and accepts it when added back', async () => {
    const bundle = ca.bundle();
    const [root] = bundle.authorities();
    const source = new SwappableSource(bundle);
    const { srv, port } = await server(...present(minted.server));
    try {
      assert.equal((await connect(port, source)).id, SERVER);
      bundle.removeAuthority(root!);
      assert.ok((await connect(port, source)).error instanceof TlsPeerError);
      bundle.addAuthority(root!);
      assert.equal((await connect(port, source)).id, SERVER);
    } finally {
      await closeServer(srv);
    }
  });

  it('runs the authorizer on every connection of a remembered server', async () => {
    const source = new SwappableSource(ca.bundle());
    let calls = 0;
    let refuse = false;
    const authorizer: Authorizer = (id) => {
      calls++;
      if (refuse) throw new AuthorizationError(String(id));
    };
    const { srv, port } = await server(...present(minted.server));
    try {
      assert.equal((await connect(port, source, authorizer)).id, SERVER);
      assert.equal((await connect(port, source, authorizer)).id, SERVER);
      refuse = true;
      assert.ok((await connect(port, source, authorizer)).error instanceof TlsPeerError);
      assert.equal(calls, 3);
    } finally {
      await closeServer(srv);
    }
  });

  it('refuses a remembered server once its certificate has expired', async () => {
    const source = new SwappableSource(ca.bundle());
    const shortLived = ca.svid('/server', { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 1500) });
    const { srv, port } = await server(...present(shortLived));
    try {
      assert.equal((await connect(port, source)).id, SERVER);
      await delay(2000);
      const refused = await connect(port, source);
      assert.match(String(refused.error?.message), /expired/);
    } finally {
      await closeServer(srv);
    }
  });

  it('verifies a leaf presented without its intermediate with the intermediate it verified with before', async () => {
    const source = new SwappableSource(ca.bundle());
    const viaIntermediate = ca.intermediate().svid('/server');
    const leafOnly = toPem('CERTIFICATE', viaIntermediate.leaf.raw);
    const whole = await server(...present(viaIntermediate));
    const bare = await server(leafOnly, viaIntermediate.keyPem);
    try {
      assert.ok((await connect(bare.port, source)).error instanceof TlsPeerError, 'never seen with its intermediate: no chain');
      assert.deepEqual(await connect(whole.port, source), { id: SERVER, chain: 2 });
      assert.deepEqual(await connect(whole.port, source), { id: SERVER, chain: 2 }, 'the caller still reads the whole chain');
      assert.deepEqual(await connect(bare.port, source), { id: SERVER, chain: 1 });
      assert.ok(
        (await connect(bare.port, new SwappableSource(ca.bundle()))).error instanceof TlsPeerError,
        'another source remembers nothing',
      );
    } finally {
      await closeServer(whole.srv);
      await closeServer(bare.srv);
    }
  });
});
