/**
 * The Node echo servers of the mTLS benchmarks (the mtls-echo example's protocol: one line in,
 * "Hello client" out, then close), both with the server SVID from the dev agent:
 *
 * - `--kind spiffe`: `createTlsServer(mtlsServerOptions(source, source, authorizeId(client)))`,
 *   SPIFFE verification of the client and the authorizer, SVID rotation.
 * - `--kind plain`: `tls.createServer` with the same certificate, key and CA (the bundle),
 *   `requestCert` and `rejectUnauthorized`, everything else at Node's defaults (session tickets
 *   included): what a server without this library would do.
 * - `--kind bare`: `tls.createServer` with the TLS settings `mtlsServerOptions` makes (an empty
 *   trust store, `rejectUnauthorized: false`, no session tickets, no renegotiation, AES-128-GCM
 *   first) and no check of the client at all: not a server anyone should run, but the floor
 *   of what Node.js and OpenSSL cost for such a handshake, so that ours − bare is this
 *   library's own cost.
 *
 * Commands: `cpu` (process.cpuUsage), `stats` (connections served), `updates` (wall-clock times,
 * ns, at which the X509Source delivered a new SVID).
 */
import { constants } from 'node:crypto';
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
} else if (kind === 'bare') {
  const { certificates, privateKey } = source.getX509Svid().marshal();
  const tls12 = tls.DEFAULT_CIPHERS.split(':').filter((c) => c !== '' && !c.startsWith('TLS_'));
  server = tls.createServer(
    {
      cert: certificates,
      key: privateKey,
      ca: [],
      requestCert: true,
      rejectUnauthorized: false,
      secureOptions: constants.SSL_OP_NO_TICKET | constants.SSL_OP_NO_RENEGOTIATION,
      ciphers: ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', ...tls12].join(':'),
      honorCipherOrder: true,
    },
    echo,
  );
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
