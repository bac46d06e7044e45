package jwtguard_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"

	"github.com/jwtguard/jwtguard"
)

// TestNodeDPoPInterop verifies DPoP proofs and DPoP-bound tokens made by
// Node's jose (testdata/interop/dpop.mjs): its RFC 7638 thumbprints, its
// proofs for five key types, and hostile proofs it signed.
func TestNodeDPoPInterop(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOutsideCI(t, "node not installed: the Node.js interop test needs it (make deps)")
	}
	if _, err := os.Stat("testdata/interop/node_modules/jose"); err != nil {
		skipOutsideCI(t, "Node packages missing: run `npm ci --prefix testdata/interop` (make deps)")
	}
	var jwks []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(jwks) }))
	t.Cleanup(srv.Close)
	const resource = "https://api.example.com/orders"
	out, err := exec.Command(node, "testdata/interop/dpop.mjs", srv.URL, audience, resource).Output()
	if err != nil {
		t.Fatalf("dpop.mjs: %v", err)
	}
	var fixture struct {
		Keys    []json.RawMessage `json:"keys"`
		Clients []struct {
			Alg, Jkt, Token string
			Proofs          []struct {
				Name, Method, Proof string
				Bad                 bool
			}
		}
	}
	if err := json.Unmarshal(out, &fixture); err != nil {
		t.Fatal(err)
	}
	jwks, _ = json.Marshal(map[string]any{"keys": fixture.Keys})
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(srv.URL), jwtguard.WithIssuer(srv.URL), jwtguard.WithAudience(audience),
		jwtguard.WithAccessTokenProfile(), jwtguard.WithDPoP(jwtguard.DPoPRequired))
	if err != nil {
		t.Fatal(err)
	}
	if len(fixture.Clients) < 5 {
		t.Fatalf("only %d clients from dpop.mjs", len(fixture.Clients))
	}
	for _, c := range fixture.Clients {
		for _, p := range c.Proofs {
			t.Run(c.Alg+"/"+p.Name, func(t *testing.T) {
				claims, err := g.Authenticate(dpopRequest(p.Method, resource, c.Token, p.Proof))
				if p.Bad {
					if !errors.Is(err, jwtguard.ErrInvalidDPoPProof) {
						t.Fatalf("hostile proof: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if claims.KeyThumbprint() != c.Jkt || claims.Subject() != "alice" {
					t.Fatalf("claims %s", claims.JSON())
				}
			})
		}
		// The token alone, as Bearer, is refused.
		if _, err := g.Authenticate(bearer(c.Token)); !errors.Is(err, jwtguard.ErrTokenBinding) {
			t.Errorf("%s: bound token as Bearer: %v", c.Alg, err)
		}
	}
}
