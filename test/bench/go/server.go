package main

import (
	"bufio"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// serveMTLS runs the echo server of the mtls-echo example with go-spiffe: its SVID and bundles
// from the Workload API, tlsconfig.MTLSServerConfig, only the client ID authorized. Each
// connection reads one line and answers "Hello client".
func serveMTLS(args []string) error {
	fs := flag.NewFlagSet("serve-mtls", flag.ContinueOnError)
	socket := fs.String("socket", "", "Workload API address (unix:///path)")
	clientID := fs.String("client-id", "spiffe://example.org/client", "the SPIFFE ID allowed to connect")
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	allowed, err := spiffeid.FromString(*clientID)
	if err != nil {
		return err
	}
	ctx, cancel := startupContext()
	defer cancel()
	source, err := workloadapi.NewX509Source(ctx, workloadapi.WithClientOptions(workloadapi.WithAddr(*socket)))
	if err != nil {
		return fmt.Errorf("X509Source: %w", err)
	}
	defer source.Close()
	config := tlsconfig.MTLSServerConfig(source, source, tlsconfig.AuthorizeID(allowed))
	ln, err := tls.Listen("tcp", *listen, config)
	if err != nil {
		return err
	}
	var handshakes, rejected atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func(conn net.Conn) {
				defer conn.Close()
				tconn := conn.(*tls.Conn)
				_ = tconn.SetDeadline(time.Now().Add(10 * time.Second))
				if err := tconn.Handshake(); err != nil {
					rejected.Add(1)
					return
				}
				handshakes.Add(1)
				if _, err := bufio.NewReader(tconn).ReadString('\n'); err != nil {
					return
				}
				_, _ = tconn.Write([]byte("Hello client\n"))
			}(conn)
		}
	}()
	reply(map[string]any{"event": "ready", "port": ln.Addr().(*net.TCPAddr).Port})
	return serveCommands(func(cmd command) (any, error) {
		switch cmd.str("cmd") {
		case "stats":
			return map[string]int64{"handshakes": handshakes.Load(), "rejected": rejected.Load()}, nil
		}
		return nil, fmt.Errorf("unknown command %q", cmd.str("cmd"))
	})
}
