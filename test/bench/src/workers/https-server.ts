/**
 * The HTTPS servers of the throughput benchmark, both serving the https-mtls example's express
 * app (`GET /` answers "Success!!!") with the server SVID from the dev agent:
 *
 * - `--kind spiffe`: the example's set-up, `createHttpsServer(mtlsServerOptions(source, source,
 *   authorizeId(client)), app)`, the handler reading `peerIdFromSocket` (the example logs it;
 *   logging is left out here, as it would dominate).
 * - `--kind plain`: `https.createServer` with the same certificate, key and CA, `requestCert`,
 *   `rejectUnauthorized`, Node's defaults otherwise.
 */
import https from 'node:https';
import express from 'express';
import { SpiffeId, TrustDomain, X509Source, authorizeId } from '@spiffe-node/spiffe';
import { createHttpsServer, mtlsServerOptions, peerIdFromSocket } from '@spiffe-node/spiffe/tls';
import { flag, reply, serveCommands } from '../lib/worker-io.js';

const kind = flag('kind');
const source = await X509Source.create({ address: flag('socket') });
let peers = 0;

const app = express();
app.get('/', (req, res) => {
  if (kind === 'spiffe' && peerIdFromSocket(req.socket) !== undefined) peers++;
  res.type('text/plain').send('Success!!!');
});

let server: https.Server;
if (kind === 'spiffe') {
  server = createHttpsServer(mtlsServerOptions(source, source, authorizeId(SpiffeId.fromString(flag('client-id')))), app);
} else if (kind === 'plain') {
  const { certificates, privateKey } = source.getX509Svid().marshal();
  const ca = source.getX509BundleForTrustDomain(TrustDomain.fromString('example.org')).marshal();
  server = https.createServer({ cert: certificates, key: privateKey, ca, requestCert: true, rejectUnauthorized: true }, app);
} else {
  throw new Error(`unknown --kind ${kind}`);
}
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
reply({ event: 'ready', port: typeof address === 'object' && address ? address.port : 0, pid: process.pid });

serveCommands(
  (command) => {
    if (command.cmd === 'stats') return { peers };
    throw new Error(`unknown command ${command.cmd}`);
  },
  async () => {
    server.close();
    server.closeAllConnections();
    await source.close();
  },
);
