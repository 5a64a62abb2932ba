// mtls-echo-client is the client of go-spiffe's spiffe-tls example, written with go-spiffe: it
// dials the server over SPIFFE mTLS (spiffetls.DialWithMode), accepting only one server ID
// (tlsconfig.AuthorizeID), sends "Hello server" and prints the answer. It prints the same lines as
// the Node app apps/mtls-echo.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"strings"

	"github.com/spiffe-node/spiffe-node/test/interop/go/internal/peer"
	"github.com/spiffe/go-spiffe/v2/spiffetls"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
)

func main() {
	host := flag.String("host", peer.Env("SERVER_HOST", "127.0.0.1"), "server host")
	port := flag.String("port", peer.Env("SERVER_PORT", "55555"), "server TCP port")
	serverID := flag.String("server-id", peer.Env("SERVER_SPIFFE_ID", "spiffe://example.org/server"), "the server SPIFFE ID expected")
	socket := flag.String("socket", "", "Workload API address (default: SPIFFE_ENDPOINT_SOCKET)")
	flag.Parse()
	expected := peer.MustID("server-id", *serverID)

	source, err := peer.NewX509Source(*socket)
	if err != nil {
		peer.Fail(1, "Unable to read server response: %v", err)
	}
	defer source.Close()

	addr := net.JoinHostPort(*host, *port)
	conn, err := spiffetls.DialWithMode(context.Background(), "tcp", addr,
		spiffetls.MTLSClientWithSource(tlsconfig.AuthorizeID(expected), source))
	if err != nil {
		source.Close()
		peer.Fail(1, "Unable to connect to %s: %v", addr, err)
	}
	defer conn.Close()

	if _, err := conn.Write([]byte("Hello server\n")); err != nil {
		conn.Close()
		source.Close()
		peer.Fail(1, "Unable to send message: %v", err)
	}
	// With TLS 1.3 the server checks our certificate after our handshake is done: a rejection
	// shows up here, as a TLS alert.
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		conn.Close()
		source.Close()
		peer.Fail(1, "Unable to read server response: %v", err)
	}
	fmt.Printf("Server says: %s\n", strings.TrimSpace(reply))
}
