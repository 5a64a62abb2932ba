import assert from 'node:assert/strict';
import { once } from 'node:events';
import tls from 'node:tls';
import { after, describe, it } from 'node:test';
import { parseAndVerifyX509Svid } from '../svid/x509/index.js';
import { authorizeId } from '../authorize/index.js';
import { createTlsServer, mtlsServerOptions, peerChainFromSocket } from './index.js';
import { closeServer, listenLocal, makePki, trackSockets } from './testing/fixtures.js';

const pki = makePki();

describe('peerChainFromSocket', () => {
  const servers: tls.Server[] = [];
  after(async () => {
    for (const s of servers) await closeServer(s);
  });

  /** The chain a SPIFFE server sees from a client presenting `svid`. */
  async function chainSeen(svid: (typeof pki.minted)[keyof typeof pki.minted]): Promise<Uint8Array[] | undefined> {
    const seen: Array<Uint8Array[] | undefined> = [];
    const server = trackSockets(
      createTlsServer(mtlsServerOptions(pki.svids.server, pki.bundles, authorizeId('spiffe://example.org/client')), (socket) => {
        seen.push(peerChainFromSocket(socket));
        socket.end();
      }),
    );
    servers.push(server);
    const port = await listenLocal(server);
    const client = tls.connect({ host: '127.0.0.1', port, cert: svid.certPem, key: svid.keyPem, rejectUnauthorized: false });
    await once(client, 'close');
    return seen[0];
  }

  it('gives the presented certificates, leaf first, with the intermediate', async () => {
    const chain = await chainSeen(pki.minted.clientViaIntermediate);
    assert.ok(chain);
    assert.equal(chain.length, 2);
    assert.deepEqual(Buffer.from(chain[0]!), Buffer.from(pki.minted.clientViaIntermediate.chainDer[0]!));
    assert.equal(parseAndVerifyX509Svid(chain, pki.bundles).id.toString(), 'spiffe://example.org/client');
  });

  it('gives one certificate for a leaf signed by the root, and undefined without a socket certificate', async () => {
    const chain = await chainSeen(pki.minted.client);
    assert.equal(chain?.length, 1);
    assert.equal(peerChainFromSocket({} as tls.TLSSocket), undefined);
  });
});
