// x509-verify gives go-spiffe's verdict on X509-SVID chains, for differential tests against the
// Node library: it reads a JSON array of cases on stdin, each a chain (base64 DER, leaf first) and
// the bundles to verify it with (trust domain and base64 DER authorities), verifies each chain
// with x509svid.ParseAndVerify, and prints a JSON array of verdicts in the same order:
//
//	[{"name": ..., "ok": true, "id": "spiffe://..."}, {"name": ..., "ok": false, "error": "..."}]
//
// Exit status 0 when every case got a verdict, 1 when the input could not be read.
package main

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

type bundleIn struct {
	TrustDomain string   `json:"trustDomain"`
	Authorities []string `json:"authorities"`
}

type caseIn struct {
	Name    string     `json:"name"`
	Chain   []string   `json:"chain"`
	Bundles []bundleIn `json:"bundles"`
}

type verdict struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	ID    string `json:"id,omitempty"`
	Error string `json:"error,omitempty"`
}

func decodeAll(items []string) ([][]byte, error) {
	out := make([][]byte, 0, len(items))
	for i, item := range items {
		der, err := base64.StdEncoding.DecodeString(item)
		if err != nil {
			return nil, fmt.Errorf("item %d is not base64: %w", i+1, err)
		}
		out = append(out, der)
	}
	return out, nil
}

func bundleSet(bundles []bundleIn) (*x509bundle.Set, error) {
	set := x509bundle.NewSet()
	for _, b := range bundles {
		td, err := spiffeid.TrustDomainFromString(b.TrustDomain)
		if err != nil {
			return nil, err
		}
		ders, err := decodeAll(b.Authorities)
		if err != nil {
			return nil, err
		}
		authorities := make([]*x509.Certificate, 0, len(ders))
		for _, der := range ders {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("bundle of %s: %w", td, err)
			}
			authorities = append(authorities, cert)
		}
		set.Add(x509bundle.FromX509Authorities(td, authorities))
	}
	return set, nil
}

func judge(c caseIn) verdict {
	v := verdict{Name: c.Name}
	set, err := bundleSet(c.Bundles)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	chain, err := decodeAll(c.Chain)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	id, _, err := x509svid.ParseAndVerify(chain, set)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	v.OK = true
	v.ID = id.String()
	return v
}

func main() {
	var cases []caseIn
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintf(os.Stderr, "x509-verify: cannot read the cases: %v\n", err)
		os.Exit(1)
	}
	verdicts := make([]verdict, 0, len(cases))
	for _, c := range cases {
		verdicts = append(verdicts, judge(c))
	}
	if err := json.NewEncoder(os.Stdout).Encode(verdicts); err != nil {
		fmt.Fprintf(os.Stderr, "x509-verify: %v\n", err)
		os.Exit(1)
	}
}
