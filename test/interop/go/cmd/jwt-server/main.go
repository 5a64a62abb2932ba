// jwt-server is the server of go-spiffe's spiffe-jwt-using-proxy example, written with go-spiffe:
// HTTPS with its X509-SVID (tlsconfig.TLSServerConfig, no client certificate); a request is served
// only with a JWT-SVID for its audience in "Authorization: Bearer", validated by
// jwtsvid.ParseAndValidate against the JWT bundles of a workloadapi.JWTSource. With -client-id, the
// token's subject must also be that ID. It prints the same lines as the Node app apps/jwt-proxy's
// server.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/spiffe-node/spiffe-node/test/interop/go/internal/peer"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
)

func main() {
	host := flag.String("host", peer.Env("SERVER_HOST", "127.0.0.1"), "address to listen on")
	port := flag.String("port", peer.Env("SERVER_PORT", "8080"), "TCP port")
	audience := flag.String("audience", peer.Env("JWT_AUDIENCE", "spiffe://example.org/server"), "the audience a token must carry")
	clientID := flag.String("client-id", "", "when set, the only subject accepted")
	socket := flag.String("socket", "", "Workload API address (default: SPIFFE_ENDPOINT_SOCKET)")
	flag.Parse()
	var allowed spiffeid.ID
	if *clientID != "" {
		allowed = peer.MustID("client-id", *clientID)
	}

	x509Source, err := peer.NewX509Source(*socket)
	if err != nil {
		peer.Fail(1, "Server failed: %v", err)
	}
	defer x509Source.Close()
	jwtSource, err := peer.NewJWTSource(*socket)
	if err != nil {
		x509Source.Close()
		peer.Fail(1, "Server failed: %v", err)
	}
	defer jwtSource.Close()
	svid, err := x509Source.GetX509SVID()
	if err != nil {
		peer.Fail(1, "Server failed: %v", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			fmt.Println("Invalid token: no bearer token in the Authorization header")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		jwt, err := jwtsvid.ParseAndValidate(token, jwtSource, []string{*audience})
		if err != nil {
			fmt.Printf("Invalid token: %v\n", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if !allowed.IsZero() && jwt.ID != allowed {
			fmt.Printf("Invalid token: unexpected subject %q\n", jwt.ID)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Printf("Request received from %s\n", jwt.ID)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("Success!!!"))
	})

	addr := net.JoinHostPort(*host, *port)
	if err := peer.ServeHTTPS(addr, mux, tlsconfig.TLSServerConfig(x509Source), svid.ID); err != nil {
		peer.Fail(1, "Server failed: %v", err)
	}
}
