import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import tls, { type TLSSocket } from 'node:tls';
import { describe, it } from 'node:test';
import { type TestSvid } from '../testing/ca.js';
import { integer, tlv } from '../testing/der.js';
import { peerLeafFromSession } from './session-peer.js';
import { closeServer, collect, listenLocal, makePki, trackSockets } from './testing/fixtures.js';

const { minted } = makePki();

interface Seen {
  leaf: Buffer | undefined;
  session: Buffer | undefined;
}

/**
 * A plain node:tls server (no SPIFFE gate) that reads the client's leaf from the session in its
 * connection listener; one client connection presenting `client` (or nothing).
 */
async function readOnServer(client: TestSvid | undefined, options: tls.TlsOptions = {}, connect: tls.ConnectionOptions = {}): Promise<Seen> {
  const seen: Seen = { leaf: undefined, session: undefined };
  const server = trackSockets(
    tls.createServer({ cert: minted.server.certPem, key: minted.server.keyPem, requestCert: true, rejectUnauthorized: false, ...options }, (socket: TLSSocket) => {
      const read = socket.getSession.bind(socket);
      socket.getSession = () => (seen.session = read());
      seen.leaf = peerLeafFromSession(socket);
      socket.end('done');
    }),
  );
  const port = await listenLocal(server);
  try {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(client ? { cert: client.certPem, key: client.keyPem } : {}), ...connect });
    await collect(socket);
  } finally {
    await closeServer(server);
  }
  return seen;
}

describe('peerLeafFromSession', () => {
  for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
    it(`returns the DER of the leaf the client presented (${maxVersion}, with an intermediate)`, async () => {
      const client = minted.clientViaIntermediate;
      const { leaf } = await readOnServer(client, {}, { maxVersion });
      assert.ok(leaf);
      assert.deepEqual(new Uint8Array(leaf), new Uint8Array(client.chainDer[0]!));
    });
  }

  it('returns it without session tickets too (the SPIFFE servers turn them off)', async () => {
    const { leaf } = await readOnServer(minted.client, { secureOptions: constants.SSL_OP_NO_TICKET });
    assert.deepEqual(new Uint8Array(leaf!), new Uint8Array(minted.client.chainDer[0]!));
  });

  it('returns undefined when the client presented no certificate', async () => {
    const { leaf } = await readOnServer(undefined);
    assert.equal(leaf, undefined);
  });

  it('zeroes the serialized session it read, which holds the session secrets', async () => {
    const { leaf, session } = await readOnServer(minted.client);
    assert.ok(leaf);
    assert.ok(session && session.length > leaf.length);
    assert.ok(session.every((b) => b === 0));
  });

  it('returns undefined for a session that is not the DER it expects', () => {
    const der = Buffer.from(minted.client.chainDer[0]!);
    const cases: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('not der at all'),
      Buffer.from([0x30, 0x03, 0x02, 0x01]), // truncated
      Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]), // a SEQUENCE without the [3] field
      tlv(0x30, integer(1), tlv(0xa3, tlv(0x04), der)), // [3] holds more than a certificate
      tlv(0x30, integer(1), tlv(0xa3, tlv(0x04, der))), // [3] holds no certificate
      Buffer.concat([tlv(0x30, integer(1), tlv(0xa3, der)), Buffer.from([0])]), // trailing bytes
    ];
    for (const session of cases) {
      const socket = { getSession: () => Buffer.from(session) } as unknown as TLSSocket;
      assert.equal(peerLeafFromSession(socket), undefined, session.toString('hex'));
    }
    const wellFormed = tlv(0x30, integer(1), integer(0x0304), tlv(0xa2, integer(300)), tlv(0xa3, der), tlv(0xa4, tlv(0x04)));
    const socket = { getSession: () => Buffer.from(wellFormed) } as unknown as TLSSocket;
    assert.deepEqual(peerLeafFromSession(socket), der);
  });

  it("reads Node 22+'s session form too: a header naming the server, then the DER", () => {
    const der = Buffer.from(minted.client.chainDer[0]!);
    const inner = tlv(0x30, integer(1), integer(0x0304), tlv(0xa3, der));
    const magic = Buffer.from('\0nodejs:tls:session:1\0', 'latin1');
    const name = Buffer.from('localhost');
    const length = Buffer.alloc(2);
    length.writeUInt16BE(name.length);
    const prefixed = Buffer.concat([magic, length, name, inner]);
    assert.deepEqual(peerLeafFromSession({ getSession: () => Buffer.from(prefixed) } as unknown as TLSSocket), der);
    const cases = [
      Buffer.concat([magic, length]), // the name is missing
      Buffer.concat([magic, Buffer.from([0xff, 0xff]), name, inner]), // the name runs past the end
      Buffer.concat([Buffer.from('\0nodejs:tls:session:9\0', 'latin1'), length, name, inner]), // another format
    ];
    for (const session of cases) {
      assert.equal(peerLeafFromSession({ getSession: () => Buffer.from(session) } as unknown as TLSSocket), undefined, session.toString('hex'));
    }
  });
});
