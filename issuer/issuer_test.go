package issuer_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func newClock() *jwtguardtest.Clock { return jwtguardtest.NewClock(time.Now()) }

func kids(t *testing.T, iss *issuer.Issuer) []string {
	t.Helper()
	b, err := iss.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			Kid, Alg, Use, Kty string
			D                  string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		if k.D != "" || k.Use != "sig" || k.Alg == "" {
			t.Fatalf("published key %+v: private part or missing use/alg", k)
		}
		out = append(out, k.Kid)
	}
	return out
}

func verifier(t *testing.T, iss *issuer.Issuer, clock *jwtguardtest.Clock) *jwtguard.Guard {
	t.Helper()
	b, err := iss.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKSet(b), jwtguard.WithIssuer(iss.URL()),
		jwtguard.WithAudience("api"), jwtguard.WithClock(clock.Now), jwtguard.WithRequiredType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestIssueAndVerify(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			iss, err := issuer.New("https://login.example", issuer.WithAlgorithm(alg), issuer.WithAudience("api"), issuer.WithClock(clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			token, exp, err := iss.Issue("alice", map[string]any{"scope": "a b", "name": "Alice"})
			if err != nil {
				t.Fatal(err)
			}
			if got := exp.Sub(clock.Now()); got != 5*time.Minute {
				t.Fatalf("default lifetime %v, want 5m", got)
			}
			c, err := verifier(t, iss, clock).Verify(t.Context(), token)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject() != "alice" || !c.HasScope("b") || c.ID() == "" || !c.ExpiresAt().Equal(exp.Truncate(time.Second)) {
				t.Fatalf("claims %s", c.JSON())
			}
		})
	}
	if _, err := issuer.New("x", issuer.WithAlgorithm("RS256")); err == nil {
		t.Fatal("RS256 accepted; only ES256 and EdDSA are offered")
	}
}

// TestRotationWindow: a retired key stays published until every token it
// signed has expired (plus leeway and a JWKS cache lifetime), then goes.
func TestRotationWindow(t *testing.T) {
	t.Parallel()
	clock := newClock()
	iss, err := issuer.New("https://login.example", issuer.WithAudience("api"), issuer.WithClock(clock.Now),
		issuer.WithAccessTokenTTL(10*time.Minute), issuer.WithKeyRotation(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	first := kids(t, iss)
	old, _, err := iss.Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(61 * time.Minute) // scheduled rotation is due
	fresh, _, err := iss.Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	both := kids(t, iss)
	if len(both) != 2 || both[1] != first[0] {
		t.Fatalf("after rotation kids = %v, want the new key and %v", both, first)
	}
	if _, err := verifier(t, iss, clock).Verify(t.Context(), fresh); err != nil {
		t.Fatalf("new key: %v", err)
	}
	clock.Add(10*time.Minute + time.Minute + 5*time.Minute - time.Second) // just inside the retention
	if got := kids(t, iss); len(got) != 2 {
		t.Fatalf("retired key dropped early: %v", got)
	}
	clock.Add(2 * time.Second)
	if got := kids(t, iss); len(got) != 1 || got[0] == first[0] {
		t.Fatalf("retired key still published after retention: %v", got)
	}
	_ = old
	if err := iss.Rotate(); err != nil {
		t.Fatal(err)
	}
	if got := kids(t, iss); len(got) != 2 {
		t.Fatalf("on-demand rotation: kids %v", got)
	}
}

func TestJWKSHandler(t *testing.T) {
	t.Parallel()
	iss, err := issuer.New("https://login.example")
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	iss.JWKSHandler().ServeHTTP(w, httptest.NewRequest("GET", "/jwks", nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/jwk-set+json" ||
		!strings.Contains(w.Header().Get("Cache-Control"), "max-age=300") {
		t.Fatalf("JWKS response: %d %v", w.Code, w.Header())
	}
	w = httptest.NewRecorder()
	iss.JWKSHandler().ServeHTTP(w, httptest.NewRequest("POST", "/jwks", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", w.Code)
	}
}
