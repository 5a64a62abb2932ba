import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { authorizeId, authorizeOneOf } from '../authorize/index.js';
import type { X509Svid } from '../svid/x509/index.js';
import { dial, grpcChannelCredentials, grpcServerCredentials, peerIdFromGrpcCall } from './index.js';
import { makePki, RotatingSvidSource, toSvid } from './testing/fixtures.js';

const pki = makePki();
const { svids, bundles } = pki;
const CLIENT = 'spiffe://example.org/client';
const SERVER = 'spiffe://example.org/server';

const text = {
  serialize: (s: string) => Buffer.from(s),
  deserialize: (b: Buffer) => b.toString(),
};
const echoService: grpc.ServiceDefinition = {
  echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: text.serialize,
    requestDeserialize: text.deserialize,
    responseSerialize: text.serialize,
    responseDeserialize: text.deserialize,
  },
};
const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');

function echo(client: grpc.Client, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    (client as unknown as { echo: (m: string, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: string) => void) => void }).echo(
      message,
      { deadline: Date.now() + 5000 },
      (err, reply) => (err ? reject(err) : resolve(reply ?? '')),
    );
  });
}

describe('gRPC: grpcServerCredentials and grpcChannelCredentials', () => {
  const server = new grpc.Server();
  const handled: string[] = [];
  const serverSource = new RotatingSvidSource(svids.server);
  let port: number;
  before(async () => {
    server.addService(echoService, {
      echo: (call: grpc.ServerUnaryCall<string, string>, callback: grpc.sendUnaryData<string>) => {
        handled.push(call.request);
        callback(null, `${call.request} from ${peerIdFromGrpcCall(call)}`);
      },
    });
    const credentials = grpcServerCredentials({
      svidSource: serverSource,
      bundleSource: bundles,
      authorizer: authorizeOneOf(CLIENT),
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
  });
  after(() => server.forceShutdown());

  const clientFor = (svid: X509Svid, expectServer = SERVER) =>
    new EchoClient(
      `127.0.0.1:${port}`,
      grpcChannelCredentials({ svidSource: svid, bundleSource: bundles, authorizer: authorizeId(expectServer) }),
    );

  it('does an authenticated round trip; the handler knows the client', async () => {
    const client = clientFor(svids.client);
    try {
      assert.equal(await echo(client, 'hi'), `hi from ${CLIENT}`);
    } finally {
      client.close();
    }
  });

  it('refuses an unexpected client with UNAUTHENTICATED before the handler runs', async () => {
    const client = clientFor(svids.other);
    const count = handled.length;
    try {
      await assert.rejects(echo(client, 'let me in'), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAUTHENTICATED);
        assert.equal(err.details, 'tls: unexpected ID "spiffe://example.org/other"');
        return true;
      });
      assert.equal(handled.length, count);
    } finally {
      client.close();
    }
  });

  it('refuses a client whose CA is in no bundle at the TLS layer', async () => {
    const client = clientFor(svids.rogueClient);
    try {
      await assert.rejects(echo(client, 'x'), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });

  it('the client refuses a server with an unexpected ID', async () => {
    const client = clientFor(svids.client, 'spiffe://example.org/someone-else');
    try {
      await assert.rejects(echo(client, 'x'), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE);
        assert.match(err.details, /unexpected ID "spiffe:\/\/example\.org\/server"/);
        return true;
      });
    } finally {
      client.close();
    }
  });

  it('presents a rotated server SVID on new connections', async () => {
    const next = toSvid(pki.ca.svid('/server'));
    serverSource.set(next);
    const socket = await dial({
      host: '127.0.0.1',
      port,
      mode: 'mtls',
      svidSource: svids.client,
      bundleSource: bundles,
      authorizer: authorizeId(SERVER),
      tlsOptions: { ALPNProtocols: ['h2'] },
    });
    assert.equal(socket.getPeerX509Certificate()?.serialNumber, next.certificates[0]?.serialNumber);
    socket.destroy();
    const client = clientFor(svids.client);
    try {
      assert.equal(await echo(client, 'after rotation'), `after rotation from ${CLIENT}`);
    } finally {
      client.close();
    }
  });
});
