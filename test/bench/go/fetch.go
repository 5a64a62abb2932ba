package main

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// fetchBench calls FetchX509SVID (a stream opened, its first message read and parsed, the stream
// closed) in `conc` loops over one connection: SVID fetches per second of an agent.
func fetchBench(args []string) error {
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	socket := fs.String("socket", "", "Workload API address (unix:///path)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	client, err := workloadapi.New(context.Background(), workloadapi.WithAddr(*socket))
	if err != nil {
		return err
	}
	defer client.Close()
	reply(map[string]any{"event": "ready"})
	return serveCommands(func(cmd command) (any, error) {
		switch cmd.str("cmd") {
		case "try":
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			svid, err := client.FetchX509SVID(ctx)
			if err != nil {
				return map[string]any{"ok": false, "reason": err.Error()}, nil
			}
			return map[string]any{"ok": true, "id": svid.ID.String()}, nil
		case "run":
			conc := int(cmd.num("conc", 8))
			deadline := time.Now().Add(cmd.duration("ms"))
			var ops, errs atomic.Int64
			firstError := atomic.Value{}
			start := time.Now()
			var wg sync.WaitGroup
			for i := 0; i < conc; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(deadline) {
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						_, err := client.FetchX509SVID(ctx)
						cancel()
						if err != nil {
							errs.Add(1)
							firstError.CompareAndSwap(nil, err.Error())
							continue
						}
						ops.Add(1)
					}
				}()
			}
			wg.Wait()
			fe, _ := firstError.Load().(string)
			return map[string]any{"ops": ops.Load(), "errors": errs.Load(), "ns": time.Since(start).Nanoseconds(), "first_error": fe}, nil
		}
		return nil, fmt.Errorf("unknown command %q", cmd.str("cmd"))
	})
}
