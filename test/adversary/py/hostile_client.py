"""A hostile TLS client (pyOpenSSL): connects presenting a given chain (or none), optionally
renegotiates presenting another certificate, optionally resumes its first session on a second
connection, then sends one request and prints what came back, as one JSON line per connection.

    hostile_client.py --port P [--chain F --key F] [--renegotiate-chain F --renegotiate-key F]
                      [--resume] [--request line|http1|h2|grpc] [--alpn h2] [--tls12] [--until TEXT]

With --resume the first connection's line is printed, then the client waits for a line on stdin
before connecting again with the saved session (the test changes the defending side meanwhile).
"""
import argparse
import json
import select
import signal
import socket
import struct
import sys

from OpenSSL import SSL

from pems import load_chain, load_key

GRPC_PATH = b"/adversary.Whoami/Whoami"


def h2_frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def hpack_literal(index, value):
    # A literal header field without indexing, name from the static table, raw (no Huffman) value.
    return bytes([index]) + bytes([len(value)]) + value


def request_bytes(kind, path="/whoami"):
    if kind == "line":
        return b"whoami\n"
    if kind == "http1":
        return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: adversary\r\nConnection: close\r\n\r\n"
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2_frame(0x4, 0, 0, b"")
    if kind == "h2":
        # :method GET, :scheme https (static 2 and 7), :path /whoami, :authority adversary.
        block = b"\x82\x87" + hpack_literal(0x04, b"/whoami") + hpack_literal(0x01, b"adversary")
        return preface + h2_frame(0x1, 0x5, 1, block)
    if kind == "grpc":
        # :method POST, :scheme https, :path, :authority, content-type, te: trailers.
        block = (b"\x83\x87" + hpack_literal(0x04, GRPC_PATH) + hpack_literal(0x01, b"adversary")
                 + hpack_literal(0x0f, b"application/grpc") + b"\x00\x02te\x08trailers")
        # content-type is static entry 31: 0x0f then the 4-bit continuation 0x10.
        block = block.replace(hpack_literal(0x0f, b"application/grpc"),
                              b"\x0f\x10" + bytes([len(b"application/grpc")]) + b"application/grpc")
        message = b"\x00" + struct.pack(">I", 6) + b"whoami"
        return preface + h2_frame(0x1, 0x4, 1, block) + h2_frame(0x0, 0x1, 1, message)
    raise ValueError(kind)


def make_context(args):
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
    if args.tls12:
        ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
    if args.chain:
        certs = load_chain(args.chain)
        ctx.use_certificate(certs[0])
        for extra in certs[1:]:
            ctx.add_extra_chain_cert(extra)
        ctx.use_privatekey(load_key(args.key))
    if args.alpn:
        ctx.set_alpn_protos([args.alpn.encode()])
    return ctx


def read_all(conn, sock, timeout, until):
    """Reads until the peer closes, `until` arrives, or the peer stays quiet for `timeout` seconds."""
    got = b""
    while until is None or until not in got:
        if conn.pending() == 0:
            ready, _, _ = select.select([sock], [], [], timeout)
            if not ready:
                break
        try:
            chunk = conn.recv(65536)
        except SSL.WantReadError:
            continue
        except (SSL.ZeroReturnError, SSL.SysCallError):
            break
        except SSL.Error as e:
            return got, f"read: {e}"
        if not chunk:
            break
        got += chunk
    return got, None


def one_connection(args, ctx, session=None, renegotiate=False):
    result = {"handshake": False, "renegotiated": False, "response": "", "error": None}
    sock = socket.create_connection((args.host, args.port))
    sock.settimeout(None)
    conn = SSL.Connection(ctx, sock)
    conn.set_connect_state()
    if session is not None:
        conn.set_session(session)
    try:
        conn.do_handshake()
        result["handshake"] = True
        result["version"] = conn.get_protocol_version_name()
        if renegotiate:
            certs = load_chain(args.renegotiate_chain)
            conn.use_certificate(certs[0])
            conn.use_privatekey(load_key(args.renegotiate_key))
            if not conn.renegotiate():
                raise SSL.Error("renegotiate() refused locally")
            conn.do_handshake()
            result["renegotiated"] = conn.total_renegotiations() > 0
        conn.sendall(request_bytes(args.request, args.path))
        got, err = read_all(conn, sock, args.timeout, args.until.encode() if args.until else None)
        result["response"] = got.decode("latin-1")
        if err:
            result["error"] = err
        result["session"] = conn.get_session() is not None
        saved = conn.get_session()
    except (SSL.Error, OSError) as e:
        result["error"] = f"{type(e).__name__}: {e}"
        saved = None
    finally:
        try:
            conn.close()
        except Exception:
            pass
        sock.close()
    return result, saved


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--chain")
    p.add_argument("--key")
    p.add_argument("--renegotiate-chain")
    p.add_argument("--renegotiate-key")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--request", default="line", choices=["line", "http1", "h2", "grpc"])
    p.add_argument("--alpn")
    p.add_argument("--path", default="/whoami", help="the HTTP/1.1 request's path")
    p.add_argument("--tls12", action="store_true")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--until", help="stop reading once this text arrived (HTTP/2 servers keep the connection open)")
    args = p.parse_args()
    # A peer that neither answers nor closes must not hang the suite.
    signal.alarm(int(args.timeout * 4) + 5)
    ctx = make_context(args)
    ctx.set_session_cache_mode(SSL.SESS_CACHE_CLIENT)
    first, session = one_connection(args, ctx, renegotiate=bool(args.renegotiate_chain))
    print(json.dumps(first), flush=True)
    if args.resume:
        sys.stdin.readline()
        second, _ = one_connection(args, ctx, session=session)
        print(json.dumps(second), flush=True)


if __name__ == "__main__":
    main()
