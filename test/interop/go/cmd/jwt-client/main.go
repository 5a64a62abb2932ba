// jwt-client is the client of go-spiffe's spiffe-jwt-using-proxy example, written with go-spiffe:
// it fetches a JWT-SVID for the audience given as its argument (default
// spiffe://example.org/server) from a workloadapi.JWTSource and sends it as a bearer token over
// TLS, authenticating the server by its X509-SVID (tlsconfig.TLSClientConfig with
// tlsconfig.AuthorizeID). It prints the same lines as the Node app apps/jwt-proxy's client.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spiffe-node/spiffe-node/test/interop/go/internal/peer"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
)

func main() {
	url := flag.String("url", peer.Env("PROXY_URL", "https://localhost:8443/"), "URL to GET")
	serverID := flag.String("server-id", peer.Env("SERVER_SPIFFE_ID", "spiffe://example.org/server"), "the server SPIFFE ID expected")
	socket := flag.String("socket", "", "Workload API address (default: SPIFFE_ENDPOINT_SOCKET)")
	flag.Parse()
	audience := "spiffe://example.org/server"
	if flag.NArg() > 0 {
		audience = flag.Arg(0)
	}
	expected := peer.MustID("server-id", *serverID)

	x509Source, err := peer.NewX509Source(*socket)
	if err != nil {
		peer.Fail(1, "Error connecting to %q: %v", *url, err)
	}
	defer x509Source.Close()
	jwtSource, err := peer.NewJWTSource(*socket)
	if err != nil {
		x509Source.Close()
		peer.Fail(1, "Error connecting to %q: %v", *url, err)
	}
	defer jwtSource.Close()

	ctx, cancel := context.WithTimeout(context.Background(), peer.StartupTimeout())
	defer cancel()
	svid, err := jwtSource.FetchJWTSVID(ctx, jwtsvid.Params{Audience: audience})
	if err != nil {
		peer.Fail(1, "Unable to fetch a JWT-SVID: %v", err)
	}

	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tlsconfig.TLSClientConfig(x509Source, tlsconfig.AuthorizeID(expected))},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		peer.Fail(2, "bad -url: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+svid.Marshal())
	res, err := client.Do(req)
	if err != nil {
		peer.Fail(1, "Error connecting to %q: %v", *url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		peer.Fail(1, "Unable to read body: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		fmt.Println(res.Status)
		peer.Fail(1, "the server answered %s", res.Status)
	}
	fmt.Println(string(body))
}
