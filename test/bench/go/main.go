// Command spiffe-bench-go holds the go-spiffe baselines of the benchmarks in test/bench: a
// go-spiffe mTLS echo server, the client load shared by every server, JWT-SVID validation, SVID
// fetches and many open Workload API streams. Each subcommand is a long-running process that
// answers one JSON command per line on stdin with one JSON line on stdout (see command.go).
//
//	spiffe-bench-go serve-mtls -socket unix:///.../server.sock -client-id spiffe://example.org/client
//	spiffe-bench-go load       -socket unix:///.../client.sock -server-id spiffe://example.org/server
//	spiffe-bench-go jwt        -socket unix:///.../server.sock -audience spiffe://example.org/server
//	spiffe-bench-go fetch      -socket unix:///.../api.sock
//	spiffe-bench-go streams    -socket unix:///.../client.sock -n 100
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: spiffe-bench-go serve-mtls|load|jwt|fetch|streams [flags]")
		os.Exit(2)
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "serve-mtls":
		err = serveMTLS(args)
	case "load":
		err = load(args)
	case "jwt":
		err = jwtBench(args)
	case "fetch":
		err = fetchBench(args)
	case "streams":
		err = streams(args)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "spiffe-bench-go %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
