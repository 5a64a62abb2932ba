// https-mtls-client is the client of go-spiffe's spiffe-http example, written with go-spiffe: an
// HTTPS GET over SPIFFE mTLS (tlsconfig.MTLSClientConfig) accepting one server ID only; it prints
// the body. It prints the same lines as the Node app apps/https-mtls.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spiffe-node/spiffe-node/test/interop/go/internal/peer"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
)

func main() {
	url := flag.String("url", peer.Env("SERVER_URL", "https://localhost:8443/"), "URL to GET")
	serverID := flag.String("server-id", peer.Env("SERVER_SPIFFE_ID", "spiffe://example.org/server"), "the server SPIFFE ID expected")
	socket := flag.String("socket", "", "Workload API address (default: SPIFFE_ENDPOINT_SOCKET)")
	flag.Parse()
	expected := peer.MustID("server-id", *serverID)

	source, err := peer.NewX509Source(*socket)
	if err != nil {
		peer.Fail(1, "Error connecting to %q: %v", *url, err)
	}
	defer source.Close()

	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: tlsconfig.MTLSClientConfig(source, source, tlsconfig.AuthorizeID(expected)),
		},
	}
	res, err := client.Get(*url)
	if err != nil {
		source.Close()
		peer.Fail(1, "Error connecting to %q: %v", *url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		source.Close()
		peer.Fail(1, "Unable to read body: %v", err)
	}
	fmt.Println(string(body))
	if res.StatusCode != http.StatusOK {
		source.Close()
		peer.Fail(1, "%s", res.Status)
	}
}
