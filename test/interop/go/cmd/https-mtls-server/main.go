// https-mtls-server is seed 001's server written with go-spiffe: HTTPS over SPIFFE mTLS
// (tlsconfig.MTLSServerConfig) accepting one client ID only, answering "Success!!!". It prints the
// same lines as the Node app apps/https-mtls ("Request received from <id>"; a rejected client is
// logged by net/http as "http: TLS handshake error from <addr>: <reason>").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

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
	server := &http.Server{
		Addr:              addr,
		Handler:           mux,
		TLSConfig:         tlsconfig.MTLSServerConfig(source, source, tlsconfig.AuthorizeID(allowed)),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(os.Stdout, "", 0),
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		peer.Fail(1, "Server failed: unable to listen on %s: %v", addr, err)
	}
	fmt.Printf("Server listening on https://%s as %s\n", addr, svid.ID)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
	}()

	// The certificate comes from TLSConfig (the X509Source), so no files are given here.
	if err := server.ServeTLS(listener, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		source.Close()
		peer.Fail(1, "Server failed: %v", err)
	}
}
