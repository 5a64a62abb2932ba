/**
 * The Node echo servers of the mTLS benchmarks (the mtls-echo example's protocol: one line in,
 * "Hello client" out, then close), both with the server SVID from the dev agent:
 *
 * - `--kind spiffe`: `createTlsServer(mtlsServerOptions(source, source, authorizeId(client)))`,
 *   SPIFFE verification of the client and the authorizer, SVID rotation.
 * - `--kind plain`: `tls.createServer` with the same certificate, key and CA (the bundle),
 *   `requestCert` and `rejectUnauthorized`, everything else at Node's defaults (session tickets
 *   included): what a server without this library would do.
 *
 * Commands: `cpu` (process.cpuUsage), `stats` (connections served), `updates` (wall-clock times,
 * ns, at which the X509Source delivered a new SVID).
 */
import tls, { type TLSSocket } from 'node:tls';
import { SpiffeId, TrustDomain, X509Source, authorizeId } from '@spiffe-node/spiffe';
import { createTlsServer, mtlsServerOptions } from '@spiffe-node/spiffe/tls';
import { flag, reply, serveCommands } from '../lib/worker-io.js';

const kind = flag('kind');
const source = await X509Source.create({ address: flag('socket') });
let served = 0;
let rejected = 0;
const updates: number[] = [];
source.on('update', () => updates.push((performance.timeOrigin + performance.now()) * 1e6));

function echo(socket: TLSSocket): void {
  socket.on('error', () => undefined);
  socket.once('data', () => {
    served++;
    socket.end('Hello client\n');
  });
}

let server: tls.Server;
if (kind === 'spiffe') {
  server = createTlsServer(mtlsServerOptions(source, source, authorizeId(SpiffeId.fromString(flag('client-id')))), echo);
  server.on('spiffeRejected', () => rejected++);
} else if (kind === 'plain') {
  const svid = source.getX509Svid();
  const { certificates, privateKey } = svid.marshal();
  const ca = source.getX509BundleForTrustDomain(TrustDomain.fromString('example.org')).marshal();
  server = tls.createServer({ cert: certificates, key: privateKey, ca, requestCert: true, rejectUnauthorized: true }, echo);
} else {
  throw new Error(`unknown --kind ${kind}`);
}
server.on('tlsClientError', () => rejected++);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
reply({ event: 'ready', port: typeof address === 'object' && address ? address.port : 0, pid: process.pid });

serveCommands(
  (command) => {
    if (command.cmd === 'stats') return { served, rejected };
    if (command.cmd === 'updates') return { updates };
    throw new Error(`unknown command ${command.cmd}`);
  },
  async () => {
    server.close();
    await source.close();
  },
);
