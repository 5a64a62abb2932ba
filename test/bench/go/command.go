package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// command is one request of the driver: {"cmd": "...", ...}.
type command map[string]any

func (c command) str(key string) string {
	s, _ := c[key].(string)
	return s
}

func (c command) num(key string, def float64) float64 {
	if v, ok := c[key].(float64); ok {
		return v
	}
	return def
}

func (c command) duration(key string) time.Duration {
	return time.Duration(c.num(key, 1000) * float64(time.Millisecond))
}

var outMu sync.Mutex

// reply writes one JSON line to stdout.
func reply(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	outMu.Lock()
	defer outMu.Unlock()
	os.Stdout.Write(append(b, '\n'))
}

// serveCommands answers the driver's commands until stdin closes. Every command gets exactly one
// reply line; a failing handler replies {"error": "..."}.
func serveCommands(handle func(command) (any, error)) error {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for scanner.Scan() {
		var cmd command
		if err := json.Unmarshal(scanner.Bytes(), &cmd); err != nil {
			reply(map[string]string{"error": fmt.Sprintf("bad command: %v", err)})
			continue
		}
		if cmd.str("cmd") == "cpu" {
			reply(cpuUsage())
			continue
		}
		result, err := handle(cmd)
		if err != nil {
			reply(map[string]string{"error": err.Error()})
			continue
		}
		reply(result)
	}
	return scanner.Err()
}

// cpuUsage is this process's CPU time so far, in microseconds (as Node's process.cpuUsage()).
func cpuUsage() map[string]int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return map[string]int64{
		"user":      ru.Utime.Sec*1e6 + int64(ru.Utime.Usec),
		"system":    ru.Stime.Sec*1e6 + int64(ru.Stime.Usec),
		"maxrss_kb": ru.Maxrss,
	}
}

func startupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
