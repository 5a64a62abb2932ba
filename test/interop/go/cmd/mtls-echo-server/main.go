// mtls-echo-server is the server of go-spiffe's spiffe-tls example, written with go-spiffe: it
// accepts SPIFFE mTLS connections (spiffetls.ListenWithMode) from one client ID only
// (tlsconfig.AuthorizeID), reads a line, prints it and answers "Hello client". It prints the same
// lines as the Node app apps/mtls-echo.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"

	"github.com/spiffe-node/spiffe-node/test/interop/go/internal/peer"
	"github.com/spiffe/go-spiffe/v2/spiffetls"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
)

func main() {
	host := flag.String("host", peer.Env("SERVER_HOST", "127.0.0.1"), "address to listen on")
	port := flag.String("port", peer.Env("SERVER_PORT", "55555"), "TCP port")
	clientID := flag.String("client-id", peer.Env("CLIENT_SPIFFE_ID", "spiffe://example.org/client"), "the only client SPIFFE ID accepted")
	socket := flag.String("socket", "", "Workload API address (default: SPIFFE_ENDPOINT_SOCKET)")
	flag.Parse()
	allowed := peer.MustID("client-id", *clientID)

	source, err := peer.NewX509Source(*socket)
	if err != nil {
		peer.Fail(1, "Server failed: %v", err)
	}
	defer source.Close()
	svid, err := source.GetX509SVID()
	if err != nil {
		peer.Fail(1, "Server failed: %v", err)
	}

	addr := net.JoinHostPort(*host, *port)
	listener, err := spiffetls.ListenWithMode(context.Background(), "tcp", addr,
		spiffetls.MTLSServerWithSource(tlsconfig.AuthorizeID(allowed), source))
	if err != nil {
		peer.Fail(1, "Server failed: unable to listen on %s: %v", addr, err)
	}
	fmt.Printf("Server listening on %s as %s\n", addr, svid.ID)

	peer.OnStop(func() { listener.Close() })

	for {
		conn, err := listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			fmt.Printf("Accept failed: %v\n", err)
			continue
		}
		go handle(conn)
	}
}

func handle(conn net.Conn) {
	defer conn.Close()
	// The handshake, and with it the client's authorization, happens on this first read.
	message, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		fmt.Printf("Error reading incoming data: %v\n", err)
		return
	}
	fmt.Printf("Client says: %s\n", strings.TrimSpace(message))
	if _, err := conn.Write([]byte("Hello client\n")); err != nil {
		fmt.Printf("Unable to send response: %v\n", err)
	}
}
