// employee-service (the upstream of WSO2 APK's mTLS guide): serves GET and POST /employee over
// SPIFFE mTLS (any X509-SVID of its own trust domain may connect). It believes
// x-forwarded-client-cert only when the TLS peer is the gateway's SPIFFE ID; from any other peer
// the header is ignored and logged.
import { parseArgs } from 'node:util';
import express from 'express';
import { SpiffeId, X509Source, authorizeMemberOf } from '@spiffe-node/spiffe';
import { createHttpsServer, formatTlsHandshakeError, mtlsServerOptions, peerIdFromSocket } from '@spiffe-node/spiffe/tls';
import { parseXfcc } from './xfcc.js';

const { values: flags } = parseArgs({
  options: {
    host: { type: 'string', default: process.env.UPSTREAM_HOST ?? '0.0.0.0' },
    port: { type: 'string', default: process.env.UPSTREAM_PORT ?? '8080' },
    'gateway-id': { type: 'string', default: process.env.GATEWAY_SPIFFE_ID ?? 'spiffe://example.org/api-gateway' },
    socket: { type: 'string', default: process.env.SPIFFE_ENDPOINT_SOCKET },
    timeout: { type: 'string', default: process.env.SPIFFE_STARTUP_TIMEOUT ?? '30' },
  },
});

const HOST = flags.host;
const PORT = Number(flags.port);
const GATEWAY_ID = SpiffeId.fromString(flags['gateway-id']);
const SOCKET = flags.socket;
const STARTUP_TIMEOUT_MS = Number(flags.timeout) * 1000;

interface Caller {
  /** The TLS peer (authenticated by its X509-SVID). */
  peer: string;
  /** The end client as the gateway vouches for it, when the peer is the gateway. */
  client: { uri: string | null; hash: string | null } | null;
}

/** The caller of a request; the forwarded identity counts only from the gateway. */
function callerOf(req: express.Request): Caller {
  const peer = peerIdFromSocket(req.socket);
  const xfcc = req.get('x-forwarded-client-cert');
  if (peer === undefined) throw new Error('unauthenticated socket');
  if (xfcc === undefined) return { peer: peer.toString(), client: null };
  if (!peer.equals(GATEWAY_ID)) {
    console.log(`Ignored x-forwarded-client-cert from ${peer}: only ${GATEWAY_ID} may forward a client identity`);
    return { peer: peer.toString(), client: null };
  }
  try {
    // The gateway sends one element: its own (By = the gateway).
    const element = parseXfcc(xfcc).at(-1);
    if (element?.by !== GATEWAY_ID.toString()) {
      console.log(`Ignored x-forwarded-client-cert: its By is not ${GATEWAY_ID}`);
      return { peer: peer.toString(), client: null };
    }
    return { peer: peer.toString(), client: { uri: element.uri[0] ?? null, hash: element.hash ?? null } };
  } catch (err) {
    console.log(`Ignored x-forwarded-client-cert: ${err instanceof Error ? err.message : String(err)}`);
    return { peer: peer.toString(), client: null };
  }
}

function describe(caller: Caller): string {
  if (caller.client === null) return caller.peer;
  const client = caller.client.uri ?? (caller.client.hash === null ? 'a client' : `certificate sha256:${caller.client.hash.slice(0, 16)}`);
  return `${client} via ${caller.peer}`;
}

async function run(): Promise<void> {
  const source = await X509Source.create({ address: SOCKET, timeoutMs: STARTUP_TIMEOUT_MS });
  const employees: Array<{ id: number; name: string }> = [
    { id: 1, name: 'Ada Lovelace' },
    { id: 2, name: 'Alan Turing' },
  ];

  const app = express();
  app.use(express.json({ limit: '16kb' }));
  app.get('/employee', (req, res) => {
    const caller = callerOf(req);
    console.log(`GET /employee from ${describe(caller)}`);
    res.json({ employees, caller });
  });
  app.post('/employee', (req, res) => {
    const caller = callerOf(req);
    const name = (req.body as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string' || name.trim() === '') {
      res.status(400).json({ error: 'a JSON body with a "name" is required' });
      return;
    }
    const employee = { id: employees.length + 1, name };
    employees.push(employee);
    console.log(`POST /employee from ${describe(caller)}: added ${employee.id}`);
    res.status(201).json({ employee, caller });
  });

  const trustDomain = source.getX509Svid().id.trustDomain;
  const server = createHttpsServer(mtlsServerOptions(source, source, authorizeMemberOf(trustDomain)), app);
  server.on('spiffeRejected', (err, socket) => console.log(formatTlsHandshakeError(err, socket)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(PORT, HOST, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : PORT;
  console.log(`Employee service listening on https://${HOST}:${port} as ${source.getX509Svid().id}`);

  const stop = (): void => {
    server.close();
    void source.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

run().catch((err: unknown) => {
  console.error(`Employee service failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
