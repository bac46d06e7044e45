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
// token sends fresh proofs as fast as it can; it is refused at its share of
// the store, while other clients' proofs still pass and stay single-use.
func TestReplayStoreFloodCrowdsOutOnlyTheFlooder(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired),
		jwtguard.WithDPoPReplayStore(jwtguard.NewMemoryReplayStore(8192)))
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
	victim, vtok := s.boundClient(t, "bob")
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

// Regression tests from the second attack review of the replay store.

// TestReplayStoreTwoFloodingKeys: two colluding keys flooding the store
// are each held to their share, and other clients' proofs still pass.
func TestReplayStoreTwoFloodingKeys(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	const entries = 8192 // 256 per shard (default store: 8192 per shard)
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired),
		jwtguard.WithDPoPReplayStore(jwtguard.NewMemoryReplayStore(entries)))
	now := s.clock.Now()
	flood := func(name string, c *dpopClient, tok string, n int) (ok, full int) {
		for i := range n {
			p := c.proof(t, "GET", apiURL, tok, now.Add(5*time.Second), nil, map[string]any{"jti": name + strconv.Itoa(i)})
			switch _, err := g.Authenticate(dpopRequest("GET", apiURL, tok, p)); {
			case err == nil:
				ok++
			case errors.Is(err, jwtguard.ErrReplayCheckUnavailable):
				full++
			default:
				t.Fatalf("%s proof %d: %v", name, i, err)
			}
		}
		return
	}
	b, btok := s.boundClient(t, "mallory-b")
	bOK, bFull := flood("b", b, btok, entries*35/100)
	aOK, aFull := flood("a", s.client, s.token, entries*9/10)
	t.Logf("attacker B: %d accepted, %d full; attacker A: %d accepted, %d full", bOK, bFull, aOK, aFull)

	refused := s.freshProofsRefused(t, g, now, 50)
	if refused > 0 {
		t.Fatalf("victim: %d of 50 fresh proofs refused while two attacker keys hold the store", refused)
	}
}

// TestReplayStoreThreeFloodingKeys: the same with three keys taking turns.
func TestReplayStoreThreeFloodingKeys(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	const entries = 8192 // 256 per shard, 32 per client
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired),
		jwtguard.WithDPoPReplayStore(jwtguard.NewMemoryReplayStore(entries)))
	now := s.clock.Now()
	clients, toks := []*dpopClient{s.client}, []string{s.token}
	for i := 1; i < 3; i++ {
		c, tok := s.boundClient(t, "mallory"+strconv.Itoa(i))
		clients, toks = append(clients, c), append(toks, tok)
	}
	// Round-robin: each shard fills with about a third of each key.
	for i := range 3 * 1200 { // past each key's share (1024)
		c := i % 3
		p := clients[c].proof(t, "GET", apiURL, toks[c], now.Add(5*time.Second), nil, map[string]any{"jti": "f" + strconv.Itoa(i)})
		_, _ = g.Authenticate(dpopRequest("GET", apiURL, toks[c], p))
	}
	refused := s.freshProofsRefused(t, g, now, 50)
	if refused > 0 {
		t.Fatalf("victim: %d of 50 fresh proofs refused while three attacker keys hold the store", refused)
	}
}

// TestReplayStoreNeverForgetsALiveProof: a busy client fills much of the
// store; another key's proofs, however old their iat, never take the place
// of a live proof, so a captured proof of the busy client stays refused.
func TestReplayStoreNeverForgetsALiveProof(t *testing.T) {
	t.Parallel()
	s := newDPoPSetup(t)
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired),
		jwtguard.WithDPoPReplayStore(jwtguard.NewMemoryReplayStore(1024)))
	now := s.clock.Now()
	// s.client is the busy victim; its first proof is the one captured.
	captured := s.client.proof(t, "GET", apiURL, s.token, now, nil, map[string]any{"jti": "captured"})
	if _, err := g.Authenticate(dpopRequest("GET", apiURL, s.token, captured)); err != nil {
		t.Fatal(err)
	}
	for i := range 2048 { // the victim's ordinary traffic fills the store
		p := s.client.proof(t, "GET", apiURL, s.token, now, nil, map[string]any{"jti": "v" + strconv.Itoa(i)})
		_, _ = g.Authenticate(dpopRequest("GET", apiURL, s.token, p))
	}
	if _, err := g.Authenticate(dpopRequest("GET", apiURL, s.token, captured)); !errors.Is(err, jwtguard.ErrInvalidDPoPProof) {
		t.Fatalf("replay before the attack: %v (want ErrInvalidDPoPProof)", err)
	}
	// The attacker, with a token bound to a key of its own, sends proofs
	// that are 58 s old: valid, and gone from the store 2 s later.
	m, mtok := s.boundClient(t, "mallory")
	accepted := 0
	for i := range 256 {
		p := m.proof(t, "GET", apiURL, mtok, now.Add(-58*time.Second), nil, map[string]any{"jti": "m" + strconv.Itoa(i)})
		if _, err := g.Authenticate(dpopRequest("GET", apiURL, mtok, p)); err == nil {
			accepted++
		}
	}
	t.Logf("attacker proofs accepted into the full store: %d", accepted)
	if _, err := g.Authenticate(dpopRequest("GET", apiURL, s.token, captured)); err == nil {
		t.Fatal("the victim's captured proof was accepted a second time (replay) after another key's proofs evicted it")
	} else {
		t.Logf("replay after the attack: %v", err)
	}
}

// boundClient is a new client with a token for sub bound to its key.
func (s *dpopSetup) boundClient(t *testing.T, sub string) (*dpopClient, string) {
	c := newDPoPClient(t)
	return c, s.iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": sub, "cnf": map[string]any{"jkt": c.jkt}})
}

// freshProofsRefused sends n fresh proofs of a new client to g and counts
// the refused ones, logging the first.
func (s *dpopSetup) freshProofsRefused(t *testing.T, g *jwtguard.Guard, now time.Time, n int) int {
	victim, vtok := s.boundClient(t, "bob")
	refused := 0
	for i := range n {
		p := victim.proof(t, "GET", apiURL, vtok, now, nil, map[string]any{"jti": "v" + strconv.Itoa(i)})
		if _, err := g.Authenticate(dpopRequest("GET", apiURL, vtok, p)); err != nil {
			refused++
			if refused == 1 {
				t.Logf("victim proof %d: %v", i, err)
			}
		}
	}
	return refused
}
