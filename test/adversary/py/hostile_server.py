"""A hostile TLS 1.2 server (pyOpenSSL): presents a chain the client accepts, then renegotiates
presenting another certificate (its own self-signed one), and only then sends PWNED. A client
that gets PWNED accepted a server whose certificate changed under it.

    hostile_server.py --chain F --key F --renegotiate-chain F --renegotiate-key F

Prints the port it listens on (127.0.0.1), then serves connections one after the other until
killed.
"""
import argparse
import select
import signal
import socket
import sys

from OpenSSL import SSL

from pems import load_chain, load_key


def serve(conn, sock, args):
    conn.do_handshake()
    certs = load_chain(args.renegotiate_chain)
    conn.use_certificate(certs[0])
    conn.use_privatekey(load_key(args.renegotiate_key))
    if not conn.renegotiate():
        raise SSL.Error("renegotiate() refused locally")
    conn.do_handshake()  # sends HelloRequest
    # The client answers with a new ClientHello; reading runs the new handshake to its end (without
    # blocking for application data, which the client may never send).
    sock.setblocking(False)
    while conn.renegotiate_pending():
        select.select([sock], [], [], 1.0)
        try:
            conn.recv(1)
        except SSL.WantReadError:
            pass
    sock.setblocking(True)
    conn.sendall(b"PWNED\n")
    conn.shutdown()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--chain", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--renegotiate-chain", required=True)
    p.add_argument("--renegotiate-key", required=True)
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("the client stalled")))
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
    certs = load_chain(args.chain)
    ctx.use_certificate(certs[0])
    for extra in certs[1:]:
        ctx.add_extra_chain_cert(extra)
    ctx.use_privatekey(load_key(args.key))
    # Ask for (and ignore) a client certificate, so mTLS clients present theirs.
    ctx.set_verify(SSL.VERIFY_PEER, lambda *a: True)
    ctx.set_session_id(b"adversary")
    # No session reuse: the renegotiation must be a full handshake that sends the new certificate.
    ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    ctx.set_options(SSL.OP_NO_TICKET)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    print(listener.getsockname()[1], flush=True)
    while True:
        sock, _ = listener.accept()
        sock.settimeout(None)  # pyOpenSSL wants blocking sockets; the alarm bounds a stuck client
        signal.alarm(10)
        conn = SSL.Connection(ctx, sock)
        conn.set_accept_state()
        try:
            serve(conn, sock, args)
        except Exception as e:  # one client's failure is that client's outcome, not the server's end
            print(f"connection: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        finally:
            signal.alarm(0)
            sock.close()


if __name__ == "__main__":
    main()
