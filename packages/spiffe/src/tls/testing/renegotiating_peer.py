"""A hostile TLS 1.2 peer for the renegotiation tests: it completes a handshake with one
certificate, then renegotiates presenting another (a certificate swap after admission).

Node's own TLS client cannot change its certificate on renegotiation, so the attack needs an
OpenSSL peer that can: pyOpenSSL (SSL.Connection.use_certificate / use_privatekey, then
renegotiate() and do_handshake()).

    python renegotiating_peer.py client HOST PORT CERT KEY SWAP_CERT SWAP_KEY
        connects, swaps to SWAP_CERT, renegotiates (client-initiated), then sends "who\\n"
        and reads one line.
    python renegotiating_peer.py server CERT KEY SWAP_CERT SWAP_KEY
        listens on 127.0.0.1 (prints {"event": "listening", "port": N}), accepts one client,
        answers its first "who\\n" with "hello\\n", swaps to SWAP_CERT, renegotiates
        (server-initiated HelloRequest) and, once the client has gone through the new
        handshake, sends "swapped\\n".

Each step prints one JSON line on stdout ({"event": ...}) so the test can tell how far the
attack got; the exit code is 0 whatever the outcome.
"""

import json
import select
import signal
import socket
import sys
import time
import warnings

from OpenSSL import SSL, crypto


def report(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def context(method_side, cert, key):
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
    ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
    ctx.use_certificate_chain_file(cert)
    ctx.use_privatekey_file(key)
    # Accept whatever the other side presents: the attack is about what *it* accepts.
    ctx.set_verify(SSL.VERIFY_PEER if method_side == "server" else SSL.VERIFY_NONE, lambda *args: True)
    if method_side == "server":
        # No resumption: a client answers a HelloRequest with an abbreviated handshake when it
        # can, and only a full handshake carries the new certificate.
        ctx.set_options(SSL.OP_NO_TICKET)
        ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    return ctx


def swap_identity(conn, cert, key):
    with open(cert, "rb") as f:
        conn.use_certificate(crypto.load_certificate(crypto.FILETYPE_PEM, f.read()))
    with open(key, "rb") as f:
        conn.use_privatekey(crypto.load_privatekey(crypto.FILETYPE_PEM, f.read()))


def read_line(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1024)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def wait_for_renegotiation(conn, raw):
    """Reads (and drops) application data until the client's new handshake has completed."""
    raw.setblocking(False)
    deadline = time.monotonic() + 10
    try:
        while conn.renegotiate_pending():
            if time.monotonic() > deadline:
                raise OSError("the client did not renegotiate")
            select.select([raw], [], [], 0.2)
            try:
                if not conn.recv(1024):
                    raise OSError("the client closed the connection")
            except SSL.WantReadError:
                pass
    finally:
        raw.setblocking(True)


def step(name, action):
    """Runs one step of the attack; reports its result or why it failed. False stops the attack."""
    try:
        result = action()
    except (SSL.Error, OSError) as err:
        report(name + "_failed", error=repr(err))
        return False, None
    report(name, **({} if result is None else {"answer": result}))
    return True, result


def run_client(host, port, cert, key, swap_cert, swap_key):
    conn = SSL.Connection(context("client", cert, key), socket.create_connection((host, int(port))))
    conn.set_connect_state()
    ok, _ = step("handshake", conn.do_handshake)
    if ok:
        swap_identity(conn, swap_cert, swap_key)

        def renegotiate():
            conn.renegotiate()
            conn.do_handshake()
            return conn.total_renegotiations()

        ok, _ = step("renegotiated", renegotiate)
    if ok:
        step("answer", lambda: (conn.sendall(b"who\n"), read_line(conn))[1])
    conn.close()


def run_server(cert, key, swap_cert, swap_key):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    report("listening", port=listener.getsockname()[1])
    raw, _ = listener.accept()
    conn = SSL.Connection(context("server", cert, key), raw)
    conn.set_accept_state()
    ok, _ = step("handshake", conn.do_handshake)
    if ok:
        ok, _ = step("first_request", lambda: (read_line(conn), conn.sendall(b"hello\n"))[0])
    if ok:
        swap_identity(conn, swap_cert, swap_key)

        def renegotiate():
            conn.renegotiate()
            conn.do_handshake()  # sends HelloRequest; the client answers when it next reads
            wait_for_renegotiation(conn, raw)
            return conn.total_renegotiations()

        ok, _ = step("renegotiated", renegotiate)
    if ok:
        step("second_answer", lambda: conn.sendall(b"swapped\n"))
    conn.close()


if __name__ == "__main__":
    warnings.simplefilter("ignore", DeprecationWarning)  # pyOpenSSL's X509/PKey objects
    signal.alarm(30)  # never outlive a test that forgot this peer
    role, args = sys.argv[1], sys.argv[2:]
    if role == "client":
        run_client(*args)
    elif role == "server":
        run_server(*args)
    else:
        sys.exit("usage: renegotiating_peer.py client HOST PORT CERT KEY SWAP_CERT SWAP_KEY | server CERT KEY SWAP_CERT SWAP_KEY")
