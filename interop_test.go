package jwtguard_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/jwtguard/jwtguard"
)

// TestNodeInterop verifies tokens signed by Node's jose and jsonwebtoken
// (the libraries behind many identity providers and hand-written login
// services) against a JWKS published as they export it.
func TestNodeInterop(t *testing.T) {
	t.Parallel()
	var fixture struct {
		Secret string `json:"secret"`
		Tokens []struct {
			Lib, Alg, Token, Bad string
			HMAC                 bool
		} `json:"tokens"`
	}
	issuer := runNodeSigner(t, &fixture, "sign.mjs", audience)
	secret, err := base64.RawURLEncoding.DecodeString(fixture.Secret)
	if err != nil {
		t.Fatal(err)
	}
	public, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(issuer), jwtguard.WithIssuer(issuer), jwtguard.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	hmacGuard, err := jwtguard.New(t.Context(), jwtguard.WithHMACSecret(secret), jwtguard.WithIssuer(issuer), jwtguard.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	if len(fixture.Tokens) < 15 {
		t.Fatalf("only %d tokens from sign.mjs", len(fixture.Tokens))
	}
	for _, tc := range fixture.Tokens {
		t.Run(tc.Lib+"/"+tc.Alg+"/"+tc.Bad, func(t *testing.T) {
			g := public
			if tc.HMAC {
				g = hmacGuard
			}
			c, err := g.Authenticate(bearer(tc.Token))
			if tc.Bad != "" {
				if err == nil {
					t.Fatalf("accepted a bad token (%s)", tc.Bad)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.Subject() != "alice" || !c.HasScope("orders:read") {
				t.Fatalf("claims %s", c.JSON())
			}
		})
	}
}

// nodeFor returns the node binary for a fixture script in testdata/interop
// once the npm packages it imports are installed there (make deps). Without
// node or a package the test is skipped, and under CI it fails.
func nodeFor(t *testing.T, packages ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOutsideCI(t, "node not installed: the Node.js interop test needs it (make deps)")
	}
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join("testdata/interop/node_modules", p)); err != nil {
			skipOutsideCI(t, "Node packages missing: run `npm ci --prefix testdata/interop` (make deps)")
		}
	}
	return node
}

// runNodeSigner runs a fixture script of testdata/interop that signs with
// keys of its own (with jose) and prints one JSON document whose "keys" are
// its public keys. The script's arguments are the issuer (the URL the keys
// are served at, as a JWK Set, for the test's guard: also the return value)
// and args. The document is decoded into fixture.
func runNodeSigner(t *testing.T, fixture any, script string, args ...string) (issuer string) {
	t.Helper()
	node := nodeFor(t, "jose")
	var jwks atomic.Pointer[[]byte]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b := jwks.Load(); b != nil {
			_, _ = w.Write(*b)
		}
	}))
	t.Cleanup(srv.Close)
	cmd := exec.Command(node, append([]string{filepath.Join("testdata/interop", script), srv.URL}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.Bytes())
	}
	if err := json.Unmarshal(out, fixture); err != nil {
		t.Fatal(err)
	}
	var keys struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(out, &keys); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"keys": keys.Keys})
	jwks.Store(&b)
	return srv.URL
}

// skipOutsideCI skips a test that needs an installed component, but fails
// it under CI, which must install everything (.ci/run runs make deps).
func skipOutsideCI(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal("CI must not skip: " + why)
	}
	t.Skip(why)
}
