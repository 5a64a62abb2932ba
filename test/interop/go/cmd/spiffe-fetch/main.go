// spiffe-fetch exercises every Workload API call through go-spiffe's workloadapi.Client and
// prints what it got as one JSON object, so that a test can check that an agent speaks the real
// Workload API as go-spiffe understands it:
//
//   - FetchX509Context: every X509-SVID is parsed by go-spiffe (which enforces the X509-SVID rules
//     and that the key matches the leaf) and verified with x509svid.Verify against the bundles.
//   - FetchX509Bundles, FetchJWTBundles: trust domains with their authorities (SHA-256 of each CA
//     certificate, key IDs of the JWT keys).
//   - FetchJWTSVIDs for -audience: each token validated with jwtsvid.ParseAndValidate against the
//     JWT bundles.
//   - ValidateJWTSVID: the token for -audience (must pass) and for -wrong-audience (must fail).
//
// Exit status 0 when every call answered and every check passed; otherwise 1, with
// {"step": ..., "code": <gRPC code>, "error": ...} on stdout.
//
// With -watch-x509 N it instead watches the X.509 context (WatchX509Context) and prints one JSON
// line per update ({"update": i, "id": ..., "serial": ..., "bundle": [...]}), exiting 0 after N.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spiffe-node/spiffe-node/test/interop/go/internal/peer"
	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"google.golang.org/grpc/status"
)

type leafInfo struct {
	IsCA               bool     `json:"isCA"`
	KeyUsage           []string `json:"keyUsage"`
	ExtKeyUsage        []string `json:"extKeyUsage"`
	URIs               []string `json:"uris"`
	DNSNames           []string `json:"dnsNames"`
	PublicKeyAlgorithm string   `json:"publicKeyAlgorithm"`
}

type x509SvidOut struct {
	ID             string   `json:"id"`
	Hint           string   `json:"hint"`
	Certificates   []string `json:"certificates"`
	NotAfter       string   `json:"notAfter"`
	Leaf           leafInfo `json:"leaf"`
	VerifiedChains int      `json:"verifiedChains"`
	VerifiedID     string   `json:"verifiedId"`
}

type jwtSvidOut struct {
	ID         string            `json:"id"`
	Hint       string            `json:"hint"`
	Audience   []string          `json:"audience"`
	Expiry     string            `json:"expiry"`
	Header     map[string]any    `json:"header"`
	ClaimNames []string          `json:"claimNames"`
	Validated  map[string]string `json:"validatedLocally"`
	Token      string            `json:"token"`
}

type output struct {
	X509Context struct {
		SVIDs   []x509SvidOut       `json:"svids"`
		Bundles map[string][]string `json:"bundles"`
	} `json:"x509Context"`
	X509Bundles           map[string][]string `json:"x509Bundles"`
	JWTSVIDs              []jwtSvidOut        `json:"jwtSvids"`
	JWTBundles            map[string][]string `json:"jwtBundles"`
	Validate              map[string]any      `json:"validate"`
	ValidateWrongAudience map[string]string   `json:"validateWrongAudience"`
}

type failure struct {
	Step  string `json:"step"`
	Code  string `json:"code"`
	Error string `json:"error"`
}

func main() {
	socket := flag.String("socket", "", "Workload API address (default: SPIFFE_ENDPOINT_SOCKET)")
	audience := flag.String("audience", "spiffe://example.org/interop", "audience of the JWT-SVIDs fetched")
	wrongAudience := flag.String("wrong-audience", "spiffe://example.org/not-the-audience", "an audience the token was not issued for")
	watch := flag.Int("watch-x509", 0, "watch the X.509 context and exit after this many updates")
	timeout := flag.Duration("timeout", 60*time.Second, "overall deadline")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	client, err := workloadapi.New(ctx, peer.ClientOptions(*socket)...)
	if err != nil {
		fail("New", err)
	}
	defer client.Close()

	if *watch > 0 {
		os.Exit(watchX509(ctx, client, *watch))
	}
	out, step, err := fetchAll(ctx, client, *audience, *wrongAudience)
	if err != nil {
		client.Close()
		fail(step, err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		client.Close()
		fail("encode", err)
	}
}

func fetchAll(ctx context.Context, client *workloadapi.Client, audience, wrongAudience string) (*output, string, error) {
	out := &output{}

	x509Ctx, err := client.FetchX509Context(ctx)
	if err != nil {
		return nil, "FetchX509Context", err
	}
	out.X509Context.Bundles = x509BundleSummary(x509Ctx.Bundles)
	for _, svid := range x509Ctx.SVIDs {
		id, chains, err := x509svid.Verify(svid.Certificates, x509Ctx.Bundles)
		if err != nil {
			return nil, "x509svid.Verify", fmt.Errorf("%s: %w", svid.ID, err)
		}
		if id != svid.ID {
			return nil, "x509svid.Verify", fmt.Errorf("verified ID %s differs from the response's %s", id, svid.ID)
		}
		out.X509Context.SVIDs = append(out.X509Context.SVIDs, x509SvidOut{
			ID:             svid.ID.String(),
			Hint:           svid.Hint,
			Certificates:   fingerprints(svid.Certificates),
			NotAfter:       svid.Certificates[0].NotAfter.UTC().Format(time.RFC3339),
			Leaf:           describeLeaf(svid.Certificates[0]),
			VerifiedChains: len(chains),
			VerifiedID:     id.String(),
		})
	}

	x509Bundles, err := client.FetchX509Bundles(ctx)
	if err != nil {
		return nil, "FetchX509Bundles", err
	}
	out.X509Bundles = x509BundleSummary(x509Bundles)

	jwtBundles, err := client.FetchJWTBundles(ctx)
	if err != nil {
		return nil, "FetchJWTBundles", err
	}
	out.JWTBundles = jwtBundleSummary(jwtBundles)

	jwtSvids, err := client.FetchJWTSVIDs(ctx, jwtsvid.Params{Audience: audience})
	if err != nil {
		return nil, "FetchJWTSVIDs", err
	}
	for _, svid := range jwtSvids {
		token := svid.Marshal()
		validated, err := jwtsvid.ParseAndValidate(token, jwtBundles, []string{audience})
		if err != nil {
			return nil, "jwtsvid.ParseAndValidate", fmt.Errorf("%s: %w", svid.ID, err)
		}
		header, err := jwsHeader(token)
		if err != nil {
			return nil, "jwt header", err
		}
		out.JWTSVIDs = append(out.JWTSVIDs, jwtSvidOut{
			ID:         svid.ID.String(),
			Hint:       svid.Hint,
			Audience:   svid.Audience,
			Expiry:     svid.Expiry.UTC().Format(time.RFC3339),
			Header:     header,
			ClaimNames: claimNames(svid.Claims),
			Validated:  map[string]string{"id": validated.ID.String()},
			Token:      token,
		})
	}
	if len(jwtSvids) == 0 {
		return nil, "FetchJWTSVIDs", errors.New("no JWT-SVID returned")
	}

	token := jwtSvids[0].Marshal()
	validated, err := client.ValidateJWTSVID(ctx, token, audience)
	if err != nil {
		return nil, "ValidateJWTSVID", err
	}
	out.Validate = map[string]any{"id": validated.ID.String(), "claimNames": claimNames(validated.Claims)}

	_, err = client.ValidateJWTSVID(ctx, token, wrongAudience)
	if err == nil {
		return nil, "ValidateJWTSVID(wrong audience)", fmt.Errorf("the agent accepted a token for %q as one for %q", audience, wrongAudience)
	}
	out.ValidateWrongAudience = map[string]string{"code": status.Code(err).String(), "error": err.Error()}
	return out, "", nil
}

type printer struct {
	updates chan *workloadapi.X509Context
}

func (p printer) OnX509ContextUpdate(c *workloadapi.X509Context) { p.updates <- c }
func (p printer) OnX509ContextWatchError(err error)              { fmt.Fprintf(os.Stderr, "watch error: %v\n", err) }

func watchX509(ctx context.Context, client *workloadapi.Client, count int) int {
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	p := printer{updates: make(chan *workloadapi.X509Context, count)}
	done := make(chan error, 1)
	go func() { done <- client.WatchX509Context(watchCtx, p) }()
	for i := 1; i <= count; i++ {
		select {
		case c := <-p.updates:
			svid := c.DefaultSVID()
			if _, _, err := x509svid.Verify(svid.Certificates, c.Bundles); err != nil {
				fmt.Fprintf(os.Stderr, "update %d does not verify: %v\n", i, err)
				return 1
			}
			line, _ := json.Marshal(map[string]any{
				"update": i,
				"id":     svid.ID.String(),
				"serial": svid.Certificates[0].SerialNumber.Text(16),
				"bundle": x509BundleSummary(c.Bundles)[svid.ID.TrustDomain().Name()],
			})
			fmt.Println(string(line))
		case err := <-done:
			fmt.Fprintf(os.Stderr, "watch ended: %v\n", err)
			return 1
		case <-ctx.Done():
			fmt.Fprintf(os.Stderr, "no update %d before the deadline\n", i)
			return 1
		}
	}
	return 0
}

func fail(step string, err error) {
	line, _ := json.Marshal(failure{Step: step, Code: status.Code(err).String(), Error: err.Error()})
	fmt.Println(string(line))
	os.Exit(1)
}

func fingerprints(certs []*x509.Certificate) []string {
	out := make([]string, 0, len(certs))
	for _, c := range certs {
		sum := sha256.Sum256(c.Raw)
		out = append(out, hex.EncodeToString(sum[:]))
	}
	return out
}

func x509BundleSummary(set *x509bundle.Set) map[string][]string {
	out := map[string][]string{}
	for _, b := range set.Bundles() {
		fps := fingerprints(b.X509Authorities())
		sort.Strings(fps)
		out[b.TrustDomain().Name()] = fps
	}
	return out
}

func jwtBundleSummary(set *jwtbundle.Set) map[string][]string {
	out := map[string][]string{}
	for _, b := range set.Bundles() {
		kids := make([]string, 0)
		for kid := range b.JWTAuthorities() {
			kids = append(kids, kid)
		}
		sort.Strings(kids)
		out[b.TrustDomain().Name()] = kids
	}
	return out
}

func describeLeaf(c *x509.Certificate) leafInfo {
	info := leafInfo{IsCA: c.IsCA, DNSNames: c.DNSNames, PublicKeyAlgorithm: c.PublicKeyAlgorithm.String()}
	names := []struct {
		bit  x509.KeyUsage
		name string
	}{
		{x509.KeyUsageDigitalSignature, "digitalSignature"},
		{x509.KeyUsageContentCommitment, "contentCommitment"},
		{x509.KeyUsageKeyEncipherment, "keyEncipherment"},
		{x509.KeyUsageDataEncipherment, "dataEncipherment"},
		{x509.KeyUsageKeyAgreement, "keyAgreement"},
		{x509.KeyUsageCertSign, "keyCertSign"},
		{x509.KeyUsageCRLSign, "cRLSign"},
	}
	info.KeyUsage = []string{}
	for _, n := range names {
		if c.KeyUsage&n.bit != 0 {
			info.KeyUsage = append(info.KeyUsage, n.name)
		}
	}
	info.ExtKeyUsage = []string{}
	for _, u := range c.ExtKeyUsage {
		switch u {
		case x509.ExtKeyUsageServerAuth:
			info.ExtKeyUsage = append(info.ExtKeyUsage, "serverAuth")
		case x509.ExtKeyUsageClientAuth:
			info.ExtKeyUsage = append(info.ExtKeyUsage, "clientAuth")
		default:
			info.ExtKeyUsage = append(info.ExtKeyUsage, fmt.Sprintf("other(%d)", u))
		}
	}
	info.URIs = []string{}
	for _, u := range c.URIs {
		info.URIs = append(info.URIs, u.String())
	}
	if info.DNSNames == nil {
		info.DNSNames = []string{}
	}
	return info
}

func jwsHeader(token string) (map[string]any, error) {
	part, _, ok := strings.Cut(token, ".")
	if !ok {
		return nil, errors.New("the token is not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return nil, fmt.Errorf("the JWS header is not base64url: %w", err)
	}
	header := map[string]any{}
	if err := json.Unmarshal(raw, &header); err != nil {
		return nil, fmt.Errorf("the JWS header is not JSON: %w", err)
	}
	return header, nil
}

func claimNames(claims map[string]any) []string {
	names := make([]string, 0, len(claims))
	for k := range claims {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
