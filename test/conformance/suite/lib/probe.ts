/**
 * The suite's side of the X.509 port and of `/v1/x509/dial`, with plain `node:tls` (never the
 * SDK under test):
 *
 * - {@link probeX509}: a handshake that presents the suite's probe certificate and verifies
 *   the harness's chain against the roots the suite trusts, to see which SVID it presents.
 * - {@link clientCertVerdict}: a connection that presents a test certificate as the client
 *   certificate and reads the peer-ID line; an empty line or a closed connection is a
 *   rejection (contract §3: under TLS 1.3 the client's handshake completes before the server
 *   has checked the client certificate, so only the line tells).
 * - {@link startPeerServer}: a TLS server presenting a test certificate, for the harness to
 *   dial; it records the client certificate the harness presented.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls, { type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';

/** A certificate chain (leaf first, PEM) and its key, as a TLS peer presents them. */
export interface PeerCredentials {
  certPem: string;
  keyPem: string;
}

/**
 * What a probe of the X.509 port saw.
 *
 * @example
 * ```ts
 * const res = await probeX509(port, probe, roots);
 * res.ids; // ['spiffe://test.example.org/default']
 * ```
 */
export interface ProbeResult {
  /** The chain as verified, leaf first (the presented certificates, then the trusted root). */
  chain: X509Certificate[];
  /** The URI SANs of the leaf. */
  ids: string[];
}

const HANDSHAKE_TIMEOUT_MS = 5000;

function pemOf(cert: X509Certificate): string {
  return cert.toString();
}

/**
 * The URI SANs of a certificate.
 *
 * @example
 * ```ts
 * uriSans(cert); // ['spiffe://test.example.org/probe']
 * ```
 */
export function uriSans(cert: X509Certificate): string[] {
  const san = cert.subjectAltName ?? '';
  return [...san.matchAll(/(?:^|, )URI:([^,]*)/g)].map((m) => (m[1] as string).trim());
}

function chainOf(peer: PeerCertificate | DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<object>();
  let current: DetailedPeerCertificate | undefined = peer as DetailedPeerCertificate;
  while (current && current.raw && current.raw.length > 0 && !seen.has(current)) {
    seen.add(current);
    out.push(new X509Certificate(current.raw));
    if (current.issuerCertificate === current) break;
    current = current.issuerCertificate;
  }
  return out;
}

/**
 * Connects to the X.509 port presenting `client`, verifies the presented chain against
 * `roots` (no host name check: SVIDs carry URI SANs) and returns it.
 *
 * @throws when the connection or the chain verification fails.
 * @example
 * ```ts
 * const { ids } = await probeX509(x509Port, probeSvid, [ca.certificate]);
 * ```
 */
export async function probeX509(port: number, client: PeerCredentials, roots: readonly X509Certificate[]): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      cert: client.certPem,
      key: client.keyPem,
      ca: roots.map(pemOf),
      rejectUnauthorized: true,
      checkServerIdentity: () => undefined,
      minVersion: 'TLSv1.2',
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS probe of 127.0.0.1:${port}: no handshake within ${HANDSHAKE_TIMEOUT_MS} ms`));
    }, HANDSHAKE_TIMEOUT_MS);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const chain = chainOf(socket.getPeerCertificate(true));
      // Close politely (close_notify) and let the harness finish its side of the handshake.
      socket.on('error', () => undefined);
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
      const leaf = chain[0];
      if (leaf === undefined) {
        reject(new Error(`TLS probe of 127.0.0.1:${port}: no certificate presented`));
        return;
      }
      resolve({ chain, ids: uriSans(leaf) });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`TLS probe of 127.0.0.1:${port}: ${err.message}`));
    });
  });
}

/**
 * The harness's answer to a client certificate on its X.509 port.
 *
 * @example
 * ```ts
 * const v = await clientCertVerdict(port, peer);
 * if (v.accepted) console.log(`the harness saw ${v.line}`);
 * ```
 */
export interface ClientCertVerdict {
  /** True when the harness wrote a non-empty peer-ID line. */
  accepted: boolean;
  /** The line (without the newline), '' when nothing was written. */
  line: string;
  /** How the connection ended, for messages. */
  detail: string;
}

/**
 * Connects to the X.509 port presenting `peer` as the client certificate and reads the peer-ID
 * line until the harness closes the connection.
 *
 * @throws when the port cannot be reached at all, or the harness neither writes nor closes
 *   within 5 s.
 * @example
 * ```ts
 * const { accepted } = await clientCertVerdict(port, ca.svid('/xv-1'));
 * ```
 */
export async function clientCertVerdict(port: number, peer: PeerCredentials): Promise<ClientCertVerdict> {
  return new Promise<ClientCertVerdict>((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      cert: peer.certPem,
      key: peer.keyPem,
      // The suite judges the harness's answer, not its certificate, here.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      minVersion: 'TLSv1.2',
    });
    let data = '';
    let settled = false;
    const finish = (detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const line = data.split('\n')[0]?.trim() ?? '';
      resolve({ accepted: line !== '', line, detail });
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new Error(`X.509 port 127.0.0.1:${port}: neither a peer-ID line nor a close within ${HANDSHAKE_TIMEOUT_MS} ms`));
    }, HANDSHAKE_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.includes('\n')) finish('line received');
    });
    socket.once('end', () => finish('closed by the harness'));
    socket.once('close', () => finish('connection closed'));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new Error(`X.509 port 127.0.0.1:${port} refused the connection`));
        return;
      }
      finish(`connection error: ${err.message}`);
    });
  });
}

/**
 * A TLS server of the suite presenting a test certificate, for `/v1/x509/dial`.
 *
 * @example
 * ```ts
 * const server = await startPeerServer(ca.svid('/server'));
 * await control.dial(server.address);
 * server.clientIds; // ['spiffe://test.example.org/default']
 * await server.close();
 * ```
 */
export interface PeerServer {
  /** `127.0.0.1:<port>`. */
  address: string;
  /** The URI SAN of every client certificate the harness presented, in order. */
  clientIds: string[];
  /**
   * Resolves once the server has seen its first client complete (or fail) a handshake, or after
   * `timeoutMs`. In TLS 1.3 the client finishes its handshake before the server has read the
   * client's certificate: a client may report success before `clientIds` holds its ID.
   */
  firstHandshake(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a TLS server on 127.0.0.1 presenting `peer` (leaf and intermediates) and asking for a
 * client certificate (without judging it).
 *
 * @example
 * ```ts
 * const server = await startPeerServer({ certPem, keyPem });
 * ```
 */
export async function startPeerServer(peer: PeerCredentials): Promise<PeerServer> {
  const clientIds: string[] = [];
  const sockets = new Set<tls.TLSSocket>();
  let handshakeSeen!: () => void;
  const handshake = new Promise<void>((resolve) => (handshakeSeen = resolve));
  const server = tls.createServer(
    { cert: peer.certPem, key: peer.keyPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
    (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      socket.setTimeout(10_000, () => socket.destroy());
      const cert = socket.getPeerX509Certificate();
      clientIds.push(cert ? (uriSans(cert)[0] ?? '') : '');
      handshakeSeen();
      socket.resume();
      socket.on('end', () => socket.end());
    },
  );
  server.on('tlsClientError', () => handshakeSeen());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    clientIds,
    firstHandshake: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([handshake, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
