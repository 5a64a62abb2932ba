import assert from 'node:assert/strict';
import { once } from 'node:events';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { authorizeId } from '../authorize/index.js';
import { WorkloadApiClient } from '../workloadapi/client.js';
import { FakeAgent } from '../workloadapi/testing/fake-agent.js';
import { TestTrustDomain, until } from '../workloadapi/testing/fixtures.js';
import { X509Source } from '../workloadapi/x509-source.js';
import { dial, listen, mtlsClientOptions, peerIdFromSocket } from './index.js';
import { closeServer, listenLocal, trackSockets } from './testing/fixtures.js';

const example = TestTrustDomain.create('example.org');
const partner = TestTrustDomain.create('partner.org');
const CLIENT = 'spiffe://example.org/client';
const SERVER = 'spiffe://example.org/server';

describe('with Workload API X509Sources', () => {
  const agents: FakeAgent[] = [];
  const clients: WorkloadApiClient[] = [];
  const sources: X509Source[] = [];
  let serverAgent: FakeAgent;
  let serverSource: X509Source;
  let clientSource: X509Source;

  async function sourceFor(paths: string[]): Promise<{ agent: FakeAgent; source: X509Source }> {
    const agent = await FakeAgent.start();
    agent.setX509SvidResponse(example.x509Response(paths, [partner]));
    const client = new WorkloadApiClient({ address: agent.address, initialBackoffMs: 50, maxBackoffMs: 300 });
    const source = await X509Source.create({ client, timeoutMs: 5000 });
    agents.push(agent);
    clients.push(client);
    sources.push(source);
    return { agent, source };
  }

  before(async () => {
    ({ agent: serverAgent, source: serverSource } = await sourceFor(['/server']));
    ({ source: clientSource } = await sourceFor(['/client']));
  });
  after(async () => {
    await Promise.all(sources.map((s) => s.close()));
    for (const c of clients) c.close();
    await Promise.all(agents.map((a) => a.close()));
  });

  it('listen and dial authenticate each other and follow a rotation pushed by the agent', async () => {
    const server = trackSockets(
      listen(
        { port: 0, host: '127.0.0.1', svidSource: serverSource, bundleSource: serverSource, authorizer: authorizeId(CLIENT) },
        (socket) => socket.once('data', () => socket.end(String(peerIdFromSocket(socket)))),
      ),
    );
    const port = await listenLocal(server);
    const roundTrip = async () => {
      const socket = await dial({
        host: '127.0.0.1',
        port,
        svidSource: clientSource,
        bundleSource: clientSource,
        authorizer: authorizeId(SERVER),
      });
      const serial = socket.getPeerX509Certificate()?.serialNumber;
      socket.write('hi');
      const [reply] = (await once(socket, 'data')) as [Buffer];
      socket.destroy();
      return { reply: reply.toString(), serial };
    };
    try {
      const first = await roundTrip();
      assert.equal(first.reply, CLIENT);
      const previous = serverSource.getX509Svid();
      serverAgent.setX509SvidResponse(example.x509Response(['/server'], [partner]));
      await until(() => serverSource.getX509Svid() !== previous);
      const second = await roundTrip();
      assert.equal(second.reply, CLIENT);
      assert.notEqual(second.serial, first.serial);
      assert.equal(second.serial, serverSource.getX509Svid().certificates[0]?.serialNumber);
    } finally {
      await closeServer(server);
    }
  });

  it('plain client options can list the bundles of an X509Source', async () => {
    const server = trackSockets(
      listen({ port: 0, host: '127.0.0.1', svidSource: serverSource, bundleSource: serverSource, authorizer: authorizeId(CLIENT) }, (s) =>
        s.end('ok'),
      ),
    );
    const port = await listenLocal(server);
    try {
      const socket = tls.connect({ host: '127.0.0.1', port, ...mtlsClientOptions(clientSource, clientSource, authorizeId(SERVER)) });
      const [data] = (await once(socket, 'data')) as [Buffer];
      assert.equal(data.toString(), 'ok');
      socket.destroy();
    } finally {
      await closeServer(server);
    }
  });
});
