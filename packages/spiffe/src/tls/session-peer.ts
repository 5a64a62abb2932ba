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
 * Not part of the public API: no entry point exports this module.
 */
import type { TLSSocket } from 'node:tls';
import { readTlv } from '../bundle/der.js';

/**
 * Newer Node lines (seen on 24) wrap the DER session in a header of their own:
 * `"\0nodejs:tls:session:" <version> "\0"`, a 16-bit big-endian length and that many bytes
 * (the server name the session is for), then OpenSSL's DER.
 */
const NODE_SESSION_MAGIC = Buffer.from('\0nodejs:tls:session:', 'latin1');

/** Where OpenSSL's DER starts in a serialized session, or -1 for a layout this module does not know. */
function derOffset(session: Buffer): number {
  if (session[0] === SEQUENCE_TAG) return 0;
  if (!session.subarray(0, NODE_SESSION_MAGIC.length).equals(NODE_SESSION_MAGIC)) return -1;
  const versionEnd = session.indexOf(0, NODE_SESSION_MAGIC.length);
  if (versionEnd < 0 || versionEnd + 3 > session.length) return -1;
  const nameLength = session.readUInt16BE(versionEnd + 1);
  const start = versionEnd + 3 + nameLength;
  return start < session.length && session[start] === SEQUENCE_TAG ? start : -1;
}

/** Tag of the `peer [3] EXPLICIT Certificate OPTIONAL` field of OpenSSL's SSL_SESSION. */
const PEER_CERTIFICATE_TAG = 0xa3;
const SEQUENCE_TAG = 0x30;

/**
 * @internal The DER of the leaf certificate the peer of `socket` presented, taken from the
 * socket's serialized TLS session (OpenSSL's `SSL_SESSION` structure, whose `[3]` field is the
 * peer's certificate, behind Node's own header on newer Node lines); `undefined` when there is
 * none or the session cannot be read.
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
    const start = derOffset(session);
    if (start < 0) return undefined;
    const top = readTlv(session, start);
    if (top.tag !== SEQUENCE_TAG || top.end !== session.length) return undefined;
    for (let offset = top.contentStart; offset < top.end;) {
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
