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

// stream is one workload watching its X.509 context over its own connection.
type stream struct {
	updates atomic.Int64
	lastNs  atomic.Int64
	mark    int64
}

func (s *stream) OnX509ContextUpdate(*workloadapi.X509Context) {
	s.lastNs.Store(time.Now().UnixNano())
	s.updates.Add(1)
}

func (s *stream) OnX509ContextWatchError(error) {}

// streams opens n Workload API connections, each with a FetchX509SVID stream, as n workloads
// would, and reports when each received the update after a mark.
func streams(args []string) error {
	fs := flag.NewFlagSet("streams", flag.ContinueOnError)
	socket := fs.String("socket", "", "Workload API address (unix:///path)")
	n := fs.Int("n", 10, "how many streams")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	all := make([]*stream, *n)
	var wg sync.WaitGroup
	for i := range all {
		s := &stream{}
		all[i] = s
		client, err := workloadapi.New(ctx, workloadapi.WithAddr(*socket))
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer client.Close()
			_ = client.WatchX509Context(ctx, s)
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ready := 0
		for _, s := range all {
			if s.updates.Load() > 0 {
				ready++
			}
		}
		if ready == len(all) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d streams received their first update within 60s", ready, len(all))
		}
		time.Sleep(5 * time.Millisecond)
	}
	reply(map[string]any{"event": "ready", "n": len(all)})
	err := serveCommands(func(cmd command) (any, error) {
		switch cmd.str("cmd") {
		case "mark":
			for _, s := range all {
				s.mark = s.updates.Load()
			}
			return map[string]any{"ok": true}, nil
		case "collect":
			until := time.Now().Add(cmd.duration("timeout_ms"))
			for {
				missing := 0
				for _, s := range all {
					if s.updates.Load() <= s.mark {
						missing++
					}
				}
				if missing == 0 || time.Now().After(until) {
					times := make([]int64, 0, len(all))
					for _, s := range all {
						if s.updates.Load() > s.mark {
							times = append(times, s.lastNs.Load())
						}
					}
					return map[string]any{"times_ns": times, "missing": missing}, nil
				}
				time.Sleep(time.Millisecond)
			}
		}
		return nil, fmt.Errorf("unknown command %q", cmd.str("cmd"))
	})
	cancel()
	wg.Wait()
	return err
}
