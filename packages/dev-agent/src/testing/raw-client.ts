/**
 * A dependency-free Workload API client as the text of an ES module (node:http2, hand-decoded
 * protobuf), for tests that run it as another user or from another process image: written to a
 * file, it needs nothing but node. Run as `node client.mjs <socket path>`, or
 * `node client.mjs --fd <n>` on an inherited descriptor already connected to the agent. It prints
 * one JSON line: `{"ids":[...]}` (the SPIFFE IDs of FetchX509SVID's first message),
 * `{"status":N,"message":"..."}` (a gRPC error) or `{"error":"..."}`. Test-only; not built.
 *
 * @internal
 */
export const RAW_CLIENT_SCRIPT = `
import http2 from 'node:http2';
import net from 'node:net';
// argv[2]: the socket path, or "--fd" and an inherited file descriptor already connected to it.
const connect = process.argv[2] === '--fd'
  ? () => new net.Socket({ fd: Number(process.argv[3]), readable: true, writable: true })
  : () => net.connect(process.argv[2]);
const session = http2.connect('http://localhost', { createConnection: connect });
session.on('error', (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });
const req = session.request({
  ':method': 'POST', ':path': '/SpiffeWorkloadAPI/FetchX509SVID',
  'content-type': 'application/grpc', te: 'trailers', 'workload.spiffe.io': 'true',
});
req.end(Buffer.from([0, 0, 0, 0, 0]));
function varint(buf, pos) {
  let value = 0, shift = 0, b;
  do { b = buf[pos++]; value += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
  return [value, pos];
}
function fields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    let key; [key, pos] = varint(buf, pos);
    const field = Math.floor(key / 8), wire = key & 7;
    if (wire === 2) { let len; [len, pos] = varint(buf, pos); out.push([field, buf.subarray(pos, pos + len)]); pos += len; }
    else if (wire === 0) { [, pos] = varint(buf, pos); }
    else throw new Error('unexpected wire type ' + wire);
  }
  return out;
}
let data = Buffer.alloc(0);
let done = false;
req.on('data', (chunk) => {
  data = Buffer.concat([data, chunk]);
  if (done || data.length < 5) return;
  const len = data.readUInt32BE(1);
  if (data.length < 5 + len) return;
  done = true;
  const ids = fields(data.subarray(5, 5 + len))
    .filter(([f]) => f === 1)
    .map(([, svid]) => fields(svid).find(([f]) => f === 1)[1].toString());
  console.log(JSON.stringify({ ids }));
  req.close(); session.close();
});
req.on('trailers', (t) => {
  if (!done && t['grpc-status'] !== '0') {
    done = true;
    console.log(JSON.stringify({ status: Number(t['grpc-status']), message: decodeURIComponent(t['grpc-message'] || '') }));
  }
  session.close();
});
req.on('response', (h) => {
  if (h['grpc-status'] !== undefined && h['grpc-status'] !== '0') {
    done = true;
    console.log(JSON.stringify({ status: Number(h['grpc-status']), message: decodeURIComponent(h['grpc-message'] || '') }));
    session.close();
  }
});
`;

/** What {@link RAW_CLIENT_SCRIPT} prints: the SPIFFE IDs it was issued, a gRPC error, or another failure. */
export interface RawClientResult {
  ids?: string[];
  status?: number;
  message?: string;
  error?: string;
}
