// https-mtls-server is the server of go-spiffe's spiffe-http example, written with go-spiffe: HTTPS
// over SPIFFE mTLS (tlsconfig.MTLSServerConfig) accepting one client ID only, answering
// "Success!!!". It prints the same lines as the Node app apps/https-mtls ("Request received from
// <id>"; a rejected client is logged by net/http as "http: TLS handshake error from <addr>:
// <reason>").
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"

	"github.com/spiffe-node/spiffe-node/test/interop/go/internal/peer"
	"github.com/spiffe/go-spiffe/v2/spiffetls"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
)

func main() {
	host := flag.String("host", peer.Env("SERVER_HOST", "127.0.0.1"), "address to listen on")
	port := flag.String("port", peer.Env("SERVER_PORT", "8443"), "TCP port")
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

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		id, err := spiffetls.PeerIDFromConnectionState(*r.TLS)
		if err != nil {
			http.Error(w, "no peer ID", http.StatusUnauthorized)
			return
		}
		fmt.Printf("Request received from %s\n", id)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("Success!!!"))
	})

	addr := net.JoinHostPort(*host, *port)
	tlsConfig := tlsconfig.MTLSServerConfig(source, source, tlsconfig.AuthorizeID(allowed))
	if err := peer.ServeHTTPS(addr, mux, tlsConfig, svid.ID); err != nil {
		source.Close()
		peer.Fail(1, "Server failed: %v", err)
	}
}
