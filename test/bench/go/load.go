package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// load is the client side of every network benchmark: the same load for the Node servers and
// the go-spiffe one. It is the client workload: its X509-SVID (and JWT-SVIDs) come from the
// Workload API, and it authenticates the server as -server-id with go-spiffe.
func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	socket := fs.String("socket", "", "Workload API address of the client identity (unix:///path)")
	serverID := fs.String("server-id", "spiffe://example.org/server", "the SPIFFE ID the server must have")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sid, err := spiffeid.FromString(*serverID)
	if err != nil {
		return err
	}
	ctx, cancel := startupContext()
	defer cancel()
	client, err := workloadapi.New(context.Background(), workloadapi.WithAddr(*socket))
	if err != nil {
		return err
	}
	defer client.Close()
	source, err := workloadapi.NewX509Source(ctx, workloadapi.WithClient(client))
	if err != nil {
		return fmt.Errorf("X509Source: %w", err)
	}
	defer source.Close()
	mtls := tlsconfig.MTLSClientConfig(source, source, tlsconfig.AuthorizeID(sid))
	serverOnly := tlsconfig.TLSClientConfig(source, tlsconfig.AuthorizeID(sid))
	// X25519 only: the key exchange every server here negotiates with it (Go would otherwise
	// offer X25519MLKEM768, which only the Go server takes, at extra cost to both sides).
	mtls.CurvePreferences = []tls.CurveID{tls.X25519}
	serverOnly.CurvePreferences = []tls.CurveID{tls.X25519}
	reply(map[string]any{"event": "ready"})
	return serveCommands(func(cmd command) (any, error) {
		switch cmd.str("cmd") {
		case "handshakes":
			if cmd.str("groups") == "default" {
				// Go's own default key-share groups (X25519MLKEM768 first), to see what a server
				// with OpenSSL 3.5 negotiates with an unconstrained client.
				config := mtls.Clone()
				config.CurvePreferences = nil
				return handshakes(cmd, config, false), nil
			}
			return handshakes(cmd, mtls, false), nil
		case "probe":
			return handshakes(cmd, mtls, true), nil
		case "http":
			config := mtls
			header := ""
			if aud := cmd.str("audience"); aud != "" {
				config = serverOnly
				svid, err := client.FetchJWTSVID(context.Background(), jwtsvid.Params{Audience: aud})
				if err != nil {
					return nil, fmt.Errorf("FetchJWTSVID: %w", err)
				}
				header = "Bearer " + svid.Marshal()
			}
			return httpLoad(cmd, config, header), nil
		}
		return nil, fmt.Errorf("unknown command %q", cmd.str("cmd"))
	})
}

// negotiated is what a handshake agreed on: the TLS version, cipher suite and key exchange group.
type negotiated struct {
	Version string `json:"version"`
	Cipher  string `json:"cipher"`
	Group   string `json:"group"`
}

// oneHandshake dials a new TCP connection, runs a full TLS handshake, says "Hello server" and
// reads the answer. It returns the server's leaf serial number and what the handshake agreed on.
func oneHandshake(addr string, config *tls.Config) (string, negotiated, error) {
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: config}
	conn, err := dialer.Dial("tcp", addr)
	if err != nil {
		return "", negotiated{}, err
	}
	defer conn.Close()
	tconn := conn.(*tls.Conn)
	_ = tconn.SetDeadline(time.Now().Add(5 * time.Second))
	state := tconn.ConnectionState()
	agreed := negotiated{tls.VersionName(state.Version), tls.CipherSuiteName(state.CipherSuite), state.CurveID.String()}
	if state.DidResume {
		return "", agreed, fmt.Errorf("the session was resumed; every request must be a full handshake")
	}
	if _, err := tconn.Write([]byte("Hello server\n")); err != nil {
		return "", agreed, err
	}
	line, err := bufio.NewReader(tconn).ReadString('\n')
	if err != nil {
		return "", agreed, fmt.Errorf("no answer after the handshake (rejected?): %w", err)
	}
	if line != "Hello client\n" {
		return "", agreed, fmt.Errorf("unexpected answer %q", line)
	}
	return state.PeerCertificates[0].SerialNumber.Text(16), agreed, nil
}

// handshakes runs `conc` loops of oneHandshake for `ms`. With probe, it also reports when each
// server serial number was first seen (and when errors happened), for the rotation benchmark.
func handshakes(cmd command, config *tls.Config, probe bool) map[string]any {
	addr := cmd.str("addr")
	conc := int(cmd.num("conc", 8))
	deadline := time.Now().Add(cmd.duration("ms"))
	var count, errs atomic.Int64
	var mu sync.Mutex
	firstSeen := map[string]int64{}
	var errorTimes []int64
	firstError := ""
	var agreed *negotiated
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				serial, got, err := oneHandshake(addr, config)
				now := time.Now().UnixNano()
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if firstError == "" {
						firstError = err.Error()
					}
					if probe {
						errorTimes = append(errorTimes, now)
					}
					mu.Unlock()
					continue
				}
				count.Add(1)
				mu.Lock()
				if agreed == nil {
					agreed = &got
				}
				mu.Unlock()
				if probe {
					mu.Lock()
					if _, ok := firstSeen[serial]; !ok {
						firstSeen[serial] = now
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	result := map[string]any{
		"count":       count.Load(),
		"errors":      errs.Load(),
		"elapsed_ms":  float64(time.Since(start).Microseconds()) / 1000,
		"first_error": firstError,
		"negotiated":  agreed,
	}
	if probe {
		type seen struct {
			Serial string `json:"serial"`
			TimeNs int64  `json:"t_ns"`
		}
		list := []seen{}
		for s, t := range firstSeen {
			list = append(list, seen{s, t})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].TimeNs < list[j].TimeNs })
		result["first_seen"] = list
		result["error_times_ns"] = errorTimes
	}
	return result
}

// httpLoad sends GET requests over keep-alive connections (conc of them) for `ms` after a warm-up
// of `warm_ms`, and reports the rate and the latency percentiles of the measured requests.
func httpLoad(cmd command, config *tls.Config, authorization string) map[string]any {
	url := cmd.str("url")
	conc := int(cmd.num("conc", 8))
	warm := time.Duration(cmd.num("warm_ms", 300) * float64(time.Millisecond))
	transport := &http.Transport{
		TLSClientConfig:     config,
		MaxIdleConns:        conc,
		MaxIdleConnsPerHost: conc,
		MaxConnsPerHost:     conc,
		IdleConnTimeout:     time.Minute,
	}
	defer transport.CloseIdleConnections()
	httpClient := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	begin := time.Now()
	measureFrom := begin.Add(warm)
	deadline := measureFrom.Add(cmd.duration("ms"))
	var errs atomic.Int64
	var mu sync.Mutex
	firstError := ""
	latencies := make([][]int64, conc)
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				err := oneRequest(httpClient, url, authorization)
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if firstError == "" {
						firstError = err.Error()
					}
					mu.Unlock()
					continue
				}
				latencies[i] = append(latencies[i], time.Since(t0).Microseconds())
			}
		}(i)
	}
	wg.Wait()
	var all []int64
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	pct := func(p float64) int64 {
		if len(all) == 0 {
			return 0
		}
		i := int(p * float64(len(all)-1))
		return all[i]
	}
	var sum int64
	for _, v := range all {
		sum += v
	}
	mean := 0.0
	if len(all) > 0 {
		mean = float64(sum) / float64(len(all))
	}
	return map[string]any{
		"count":       len(all),
		"errors":      errs.Load(),
		"elapsed_ms":  float64(cmd.duration("ms").Microseconds()) / 1000,
		"p50_us":      pct(0.50),
		"p99_us":      pct(0.99),
		"mean_us":     mean,
		"first_error": firstError,
	}
}

func oneRequest(client *http.Client, url, authorization string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || string(body) != "Success!!!" {
		return fmt.Errorf("status %d, body %q", resp.StatusCode, body)
	}
	return nil
}
