package jwtguard_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// Regression tests from an attack review of the DPoP path.

// TestDPoPPathRefusesUnknownConfirmation: a cnf with a confirmation method
// the guard cannot check (next to jkt) is refused on the DPoP path as on
// the Bearer path: both end in the same binding check.
func TestDPoPPathRefusesUnknownConfirmation(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPOptional))
	tok := s.iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "alice",
		"cnf": map[string]any{"jkt": s.client.jkt, "x5t#S256x": "abc", "jwk": s.client.jwk}})
	p := s.client.proof(t, "GET", apiURL, tok, s.clock.Now(), nil, nil)
	if _, err := g.Authenticate(dpopRequest("GET", apiURL, tok, p)); !errors.Is(err, jwtguard.ErrTokenBinding) {
		t.Fatalf("DPoP with an unknown confirmation method: %v, want ErrTokenBinding", err)
	}
}

// TestDPoPTokenAndAnotherSource: a DPoP token and a token from a
// configured source (a cookie) in one request is ambiguous.
func TestDPoPTokenAndAnotherSource(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPOptional), jwtguard.WithExtractors(jwtguard.FromCookie("tok")))
	other := s.iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "mallory"})
	r := dpopRequest("GET", apiURL, s.token, s.client.proof(t, "GET", apiURL, s.token, s.clock.Now(), nil, nil))
	r.AddCookie(&http.Cookie{Name: "tok", Value: other})
	if c, err := g.Authenticate(r); !errors.Is(err, jwtguard.ErrMultipleTokens) {
		t.Fatalf("DPoP token plus a cookie token: claims %v, err %v; want ErrMultipleTokens", c, err)
	}
	// Without the cookie, the DPoP token alone passes.
	r = dpopRequest("GET", apiURL, s.token, s.client.proof(t, "GET", apiURL, s.token, s.clock.Now(), nil, nil))
	if _, err := g.Authenticate(r); err != nil {
		t.Fatalf("DPoP token alone: %v", err)
	}
}

// TestDPoPHTUIsTheRequestLine: htu is compared with the path the client
// sent, not one a router rewrote; a public origin with a path prefix
// serves a proxy that strips it.
func TestDPoPHTUIsTheRequestLine(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	tests := []struct {
		name, origin, requested, signed string
		want                            int
	}{
		{"signed for the stripped path", "https://api.example.com", "https://api.example.com/api/orders", "https://api.example.com/orders", http.StatusUnauthorized},
		{"signed for the path sent", "https://api.example.com", "https://api.example.com/api/orders", "https://api.example.com/api/orders", http.StatusOK},
		{"proxy strips /edge", "https://api.example.com/edge", "https://internal/api/orders", "https://api.example.com/edge/api/orders", http.StatusOK},
		{"proxy prefix missing from htu", "https://api.example.com/edge", "https://internal/api/orders", "https://api.example.com/api/orders", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired), jwtguard.WithPublicOrigin(tc.origin))
			h := http.StripPrefix("/api", g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
			p := s.client.proof(t, "GET", tc.signed, s.token, s.clock.Now(), nil, nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, dpopRequest("GET", tc.requested, s.token, p))
			if w.Code != tc.want {
				t.Errorf("status %d, want %d (%s)", w.Code, tc.want, w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// TestReplayStoreFloodCrowdsOutOnlyTheFlooder: one client with one valid
// token fills the replay store with its own fresh proofs; other clients'
// proofs still pass (taking the flooder's places) and are still single-use,
// while the flooder is refused.
func TestReplayStoreFloodCrowdsOutOnlyTheFlooder(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired),
		jwtguard.WithDPoPReplayStore(jwtguard.NewMemoryReplayStore(1024)))
	now := s.clock.Now()
	accepted, full := 0, 0
	for i := range 4096 {
		p := s.client.proof(t, "GET", apiURL, s.token, now.Add(5*time.Second), nil, map[string]any{"jti": "fill-" + strconv.Itoa(i)})
		switch _, err := g.Authenticate(dpopRequest("GET", apiURL, s.token, p)); {
		case err == nil:
			accepted++
		case errors.Is(err, jwtguard.ErrReplayCheckUnavailable):
			full++
		default:
			t.Fatalf("flood proof %d: %v", i, err)
		}
	}
	if accepted < 512 || full == 0 {
		t.Fatalf("flooder: %d accepted, %d refused as full; want the store filled, then refusals", accepted, full)
	}
	victim := newDPoPClient(t)
	vtok := s.iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "bob", "cnf": map[string]any{"jkt": victim.jkt}})
	for i := range 50 {
		p := victim.proof(t, "GET", apiURL, vtok, now, nil, map[string]any{"jti": "v" + strconv.Itoa(i)})
		if _, err := g.Authenticate(dpopRequest("GET", apiURL, vtok, p)); err != nil {
			t.Fatalf("another client's proof %d while the store is flooded: %v", i, err)
		}
		if _, err := g.Authenticate(dpopRequest("GET", apiURL, vtok, p)); !errors.Is(err, jwtguard.ErrInvalidDPoPProof) {
			t.Fatalf("another client's proof %d replayed: %v, want ErrInvalidDPoPProof", i, err)
		}
	}
}
