package jwtguard_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestStaleKeysJudgedAfterASlowResolver: a request's time is read once,
// at its start; a resolver re-check can take up to its timeout, during
// which the keys may pass their stale window. They are judged at the time
// of the resolver's answer (an attack review's proof: the keys were used
// 5 s past their window while the next request was refused).
func TestStaleKeysJudgedAfterASlowResolver(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	clk := jwtguardtest.NewClock(t0)
	iss, down := issuerWithOutage(t, clk, 60)
	var slow atomic.Bool
	g, err := jwtguard.New(t.Context(),
		jwtguard.WithAudience("api"),
		jwtguard.WithClock(clk.Now),
		jwtguard.WithVerifiedTokenCache(0),
		jwtguard.WithKeySetSettings(jwtguard.KeySetSettings{StaleFor: time.Minute}),
		jwtguard.WithIssuerResolver(func(ctx context.Context, s string) ([]jwtguard.IssuerOption, error) {
			if s != iss.URL {
				return nil, nil
			}
			if slow.Load() {
				clk.Add(10 * time.Second) // the tenant store takes 10 s (resolverTimeout) to answer the re-check
			}
			return []jwtguard.IssuerOption{jwtguard.WithJWKS(iss.JWKSURL())}, nil
		}, jwtguard.ResolverSettings{ApprovalTTL: time.Minute}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	if _, err := g.Verify(t.Context(), iss.Sign(jwtguardtest.Claims{"aud": "api"})); err != nil {
		t.Fatal(err) // approved, keys fetched at t0: fresh till t0+60s, usable till t0+120s
	}
	down.Store(true)
	clk.Add(115 * time.Second) // approval (60 s) expired; keys still within their stale window

	// Control: with a fast resolver, a token verified at t0+125s is refused.
	// (Shown below on the same guard after the attack, since the attack itself
	// moves the clock.)
	slow.Store(true)
	tok := iss.Sign(jwtguardtest.Claims{"aud": "api", "sub": "mallory"})
	c, err := g.Verify(t.Context(), tok)
	t.Logf("clock now t0+%v; keys usable till t0+120s", clk.Now().Sub(t0))
	slow.Store(false)
	_, errAfter := g.Verify(t.Context(), iss.Sign(jwtguardtest.Claims{"aud": "api", "sub": "control"}))
	t.Logf("control token at the same instant: %v", errAfter)
	if err == nil && errors.Is(errAfter, jwtguard.ErrKeysUnavailable) {
		t.Fatalf("token (sub %q) verified with keys %v past their stale window; the next request at the same instant gets %v",
			c.Subject(), clk.Now().Sub(t0.Add(120*time.Second)), errAfter)
	}
}

// TestStaleKeysJudgedAfterASlowExtractor: the same with an Observer,
// whose decision start is read before a FromFunc source, which may block.
func TestStaleKeysJudgedAfterASlowExtractor(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	clk := jwtguardtest.NewClock(t0)
	iss, down := issuerWithOutage(t, clk, 60)
	var slow atomic.Bool
	g, err := jwtguard.New(t.Context(),
		jwtguard.WithTrustedIssuer(iss.URL, jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithAudience("api")),
		jwtguard.WithClock(clk.Now),
		jwtguard.WithVerifiedTokenCache(0),
		jwtguard.WithKeySetSettings(jwtguard.KeySetSettings{StaleFor: time.Minute}),
		jwtguard.WithObserver(jwtguard.Observer{OnDecision: func(context.Context, jwtguard.Decision) {}}),
		jwtguard.WithExtractors(jwtguard.FromFunc("session", func(r *http.Request) (string, error) {
			if slow.Load() {
				clk.Add(10 * time.Second) // the session store answers in 10 s
			}
			return r.Header.Get("X-Session-Token"), nil
		})),
		jwtguard.WithoutCrossOriginCheck(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	req := func(tok string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, "http://api.example/x", nil)
		r.Header.Set("X-Session-Token", tok)
		return r
	}
	if _, err := g.Authenticate(req(iss.Sign(jwtguardtest.Claims{"aud": "api"}))); err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	clk.Add(115 * time.Second) // keys usable till t0+120s
	slow.Store(true)
	c, err := g.Authenticate(req(iss.Sign(jwtguardtest.Claims{"aud": "api", "sub": "mallory"})))
	slow.Store(false)
	_, errAfter := g.Authenticate(req(iss.Sign(jwtguardtest.Claims{"aud": "api", "sub": "control"})))
	t.Logf("control at the same instant: %v", errAfter)
	if err == nil && errors.Is(errAfter, jwtguard.ErrKeysUnavailable) {
		t.Fatalf("token (sub %q) verified at t0+%v with keys usable only till t0+120s", c.Subject(), clk.Now().Sub(t0))
	}
}

// issuerWithOutage is an issuer on clock clk whose key set is fresh for
// maxAge seconds and fails with a 500 once down is set.
func issuerWithOutage(t *testing.T, clk *jwtguardtest.Clock, maxAge int) (*jwtguardtest.Issuer, *atomic.Bool) {
	iss := jwtguardtest.NewIssuer(t, "ES256")
	iss.SetClock(clk.Now)
	down := new(atomic.Bool)
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "max-age="+strconv.Itoa(maxAge))
		_, _ = w.Write(iss.JWKS())
	}))
	return iss, down
}
