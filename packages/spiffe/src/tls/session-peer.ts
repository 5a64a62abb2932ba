/**
 * Reading the peer's leaf certificate of a TLS socket cheaply, for the server's verified-leaf
 * cache.
 *
 * Node offers three ways to read a peer certificate and each costs more than it should on a
 * busy server: `getPeerCertificate()` decodes every field of the certificate into a JavaScript
 * object (three digests among them), tens of microseconds per connection;
 * `getPeerX509Certificate()` duplicates (re-parses) every certificate of the peer's chain and,
 * on Node 20, removes the first intermediate from the chain that a later
 * `getPeerCertificate(true)` reads. The serialized TLS session (`getSession()`, a few
 * microseconds) carries the peer's leaf certificate as the DER the peer sent, which is all the
 * cache needs.
 *
 * @module
 * @internal
 */
import type { TLSSocket } from 'node:tls';
import { readTlv } from '../bundle/der.js';

/** Tag of the `peer [3] EXPLICIT Certificate OPTIONAL` field of OpenSSL's SSL_SESSION. */
const PEER_CERTIFICATE_TAG = 0xa3;
const SEQUENCE_TAG = 0x30;
/**
 * Node 22.12+ and 24+ prefix the serialized session with `\0nodejs:tls:session:1\0`, a 16-bit
 * big-endian length and the server name the session was made for, then OpenSSL's DER; Node 20
 * returns the DER alone.
 */
const NODE_SESSION_MAGIC = Buffer.from('\0nodejs:tls:session:1\0', 'latin1');

/** Where OpenSSL's `SSL_SESSION` DER starts in what `getSession()` returned, or -1. */
function sessionDerStart(session: Buffer): number {
  if (session[0] === SEQUENCE_TAG) return 0;
  const header = NODE_SESSION_MAGIC.length;
  if (session.length < header + 2 || !session.subarray(0, header).equals(NODE_SESSION_MAGIC)) return -1;
  return header + 2 + session.readUInt16BE(header);
}

/**
 * @internal The DER of the leaf certificate the peer of `socket` presented, taken from the
 * socket's serialized TLS session (OpenSSL's `SSL_SESSION` structure, whose `[3]` field is the
 * peer's certificate); `undefined` when there is none or the session cannot be read.
 *
 * The serialized session holds the session's secrets too: the buffer is zeroed before this
 * returns, and only the certificate is copied out. The result is a cache key, never a
 * verification input by itself: a caller that verifies the chain from
 * `getPeerCertificate(true)` must check that its leaf is this same DER before remembering it.
 */
export function peerLeafFromSession(socket: TLSSocket): Buffer | undefined {
  const session = socket.getSession();
  if (session === undefined || session.length === 0) return undefined;
  try {
    const start = sessionDerStart(session);
    if (start < 0 || start >= session.length) return undefined;
    const top = readTlv(session, start);
    if (top.tag !== SEQUENCE_TAG || top.end !== session.length) return undefined;
    for (let offset = top.contentStart; offset < top.end; ) {
      const field = readTlv(session, offset, top.end);
      if (field.tag === PEER_CERTIFICATE_TAG) {
        const cert = readTlv(session, field.contentStart, field.end);
        if (cert.tag !== SEQUENCE_TAG || cert.end !== field.end) return undefined;
        return Buffer.from(session.subarray(cert.start, cert.end));
      }
      offset = field.end;
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    session.fill(0);
  }
}
