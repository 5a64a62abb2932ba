import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import tls, { type TLSSocket } from 'node:tls';
import { describe, it } from 'node:test';
import { type TestSvid } from '../testing/ca.js';
import { integer, tlv } from '@spiffe-node/test-kit/der';
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
async function readOnServer(
  client: TestSvid | undefined,
  options: tls.TlsOptions = {},
  connect: tls.ConnectionOptions = {},
): Promise<Seen> {
  const seen: Seen = { leaf: undefined, session: undefined };
  const server = trackSockets(
    tls.createServer(
      { cert: minted.server.certPem, key: minted.server.keyPem, requestCert: true, rejectUnauthorized: false, ...options },
      (socket: TLSSocket) => {
        const read = socket.getSession.bind(socket);
        socket.getSession = () => (seen.session = read());
        seen.leaf = peerLeafFromSession(socket);
        socket.end('done');
      },
    ),
  );
  const port = await listenLocal(server);
  try {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
      ...connect,
    });
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

  it('reads the DER behind the header newer Node lines (24) put in front of the session', () => {
    const der = Buffer.from(minted.client.chainDer[0]!);
    const session = tlv(0x30, integer(1), integer(0x0304), tlv(0xa3, der));
    const header = (version: string, name: string) =>
      Buffer.concat([Buffer.from(`\0nodejs:tls:session:${version}\0`, 'latin1'), Buffer.from([0, name.length]), Buffer.from(name)]);
    const read = (bytes: Buffer) => peerLeafFromSession({ getSession: () => Buffer.from(bytes) } as unknown as TLSSocket);
    assert.deepEqual(read(Buffer.concat([header('1', '127.0.0.1'), session])), der);
    assert.deepEqual(read(Buffer.concat([header('1', ''), session])), der);
    // A header whose name length runs past the DER, or that is not Node's: nothing.
    assert.equal(read(Buffer.concat([header('1', '127.0.0.1').subarray(0, -3), session])), undefined);
    assert.equal(read(Buffer.concat([Buffer.from('\0other:tls:session:1\0\0\0', 'latin1'), session])), undefined);
  });
});
