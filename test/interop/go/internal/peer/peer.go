// Package peer holds what the go-spiffe interop programs share: settings read from flags with the
// same environment defaults as the Node example apps (SERVER_PORT, SERVER_SPIFFE_ID, ...), the
// startup deadline for the first SVID, the Workload API sources, and serving until a signal.
package peer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// Env returns the environment variable name, or def when it is unset or empty.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// StartupTimeout is how long a program waits for its first SVID: SPIFFE_STARTUP_TIMEOUT seconds
// (30 by default), as the Node apps do. SPIRE hands out a new entry only after its next sync.
func StartupTimeout() time.Duration {
	seconds, err := strconv.Atoi(Env("SPIFFE_STARTUP_TIMEOUT", "30"))
	if err != nil || seconds <= 0 {
		seconds = 30
	}
	return time.Duration(seconds) * time.Second
}

// ClientOptions points go-spiffe at socket (a unix:// or tcp:// address); an empty socket keeps
// go-spiffe's default, SPIFFE_ENDPOINT_SOCKET.
func ClientOptions(socket string) []workloadapi.ClientOption {
	if socket == "" {
		return nil
	}
	return []workloadapi.ClientOption{workloadapi.WithAddr(socket)}
}

// NewX509Source creates an X509Source and waits for its first X.509 context.
func NewX509Source(socket string) (*workloadapi.X509Source, error) {
	ctx, cancel := context.WithTimeout(context.Background(), StartupTimeout())
	defer cancel()
	source, err := workloadapi.NewX509Source(ctx, workloadapi.WithClientOptions(ClientOptions(socket)...))
	if err != nil {
		return nil, fmt.Errorf("unable to create X509Source: %w", err)
	}
	return source, nil
}

// NewJWTSource creates a JWTSource and waits for its first JWT bundles.
func NewJWTSource(socket string) (*workloadapi.JWTSource, error) {
	ctx, cancel := context.WithTimeout(context.Background(), StartupTimeout())
	defer cancel()
	source, err := workloadapi.NewJWTSource(ctx, workloadapi.WithClientOptions(ClientOptions(socket)...))
	if err != nil {
		return nil, fmt.Errorf("unable to create JWTSource: %w", err)
	}
	return source, nil
}

// MustID parses a SPIFFE ID given on the command line, or exits with status 2.
func MustID(flagName, value string) spiffeid.ID {
	id, err := spiffeid.FromString(value)
	if err != nil {
		Fail(2, "invalid -%s %q: %v", flagName, value, err)
	}
	return id
}

// Fail prints a message on stderr and exits with code.
func Fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}

// OnStop runs stop, once, on the first SIGTERM or SIGINT.
func OnStop(stop func()) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		stop()
	}()
}

// ServeHTTPS serves handler over TLS with tlsConfig on addr (the certificate comes from
// tlsConfig, a go-spiffe source), after printing "Server listening on https://<addr> as <id>",
// until SIGTERM or SIGINT shuts it down gracefully. It returns why it could not listen or serve;
// a shutdown is not an error.
func ServeHTTPS(addr string, handler http.Handler, tlsConfig *tls.Config, id spiffeid.ID) error {
	server := &http.Server{
		Addr:              addr,
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(os.Stdout, "", 0),
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("unable to listen on %s: %w", addr, err)
	}
	fmt.Printf("Server listening on https://%s as %s\n", addr, id)
	OnStop(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
	})
	if err := server.ServeTLS(listener, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
