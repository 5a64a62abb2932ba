package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// jwtBench validates JWT-SVIDs with jwtsvid.ParseAndValidate against a workloadapi.JWTSource,
// as a go-spiffe server would.
func jwtBench(args []string) error {
	fs := flag.NewFlagSet("jwt", flag.ContinueOnError)
	socket := fs.String("socket", "", "Workload API address of the validating workload (unix:///path)")
	audience := fs.String("audience", "spiffe://example.org/server", "the audience to accept")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := startupContext()
	defer cancel()
	source, err := workloadapi.NewJWTSource(ctx, workloadapi.WithClientOptions(workloadapi.WithAddr(*socket)))
	if err != nil {
		return fmt.Errorf("JWTSource: %w", err)
	}
	defer source.Close()
	audiences := []string{*audience}
	reply(map[string]any{"event": "ready"})
	return serveCommands(func(cmd command) (any, error) {
		if cmd.str("cmd") != "run" {
			return nil, fmt.Errorf("unknown command %q", cmd.str("cmd"))
		}
		token := cmd.str("token")
		if _, err := jwtsvid.ParseAndValidate(token, source, audiences); err != nil {
			return nil, fmt.Errorf("the token does not validate: %w", err)
		}
		budget := cmd.duration("ms")
		cpu0 := cpuUsage()
		start := time.Now()
		ops := 0
		for {
			for i := 0; i < 64; i++ {
				if _, err := jwtsvid.ParseAndValidate(token, source, audiences); err != nil {
					return nil, err
				}
			}
			ops += 64
			if time.Since(start) >= budget {
				break
			}
		}
		elapsed := time.Since(start).Nanoseconds()
		cpu1 := cpuUsage()
		cpuNs := (cpu1["user"] + cpu1["system"] - cpu0["user"] - cpu0["system"]) * 1000
		return map[string]any{"ops": ops, "ns": elapsed, "cpu_ns": cpuNs}, nil
	})
}
