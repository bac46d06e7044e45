package jwtguard_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// countingJWKS serves iss's key set and counts the fetches.
func countingJWKS(iss *jwtguardtest.Issuer) *atomic.Int64 {
	var n atomic.Int64
	iss.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Cache-Control", "max-age=300")
		_, _ = w.Write(iss.JWKS())
	}))
	return &n
}

// TestSharedKeySet: guards on one KeySet share one cache and one fetch.
func TestSharedKeySet(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	fetches := countingJWKS(iss)
	ks, err := jwtguard.NewKeySet(t.Context(), iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ks.Close)
	var guards []*jwtguard.Guard
	for _, aud := range []string{"orders", "billing", "admin"} {
		g, err := jwtguard.New(t.Context(), jwtguard.WithKeySet(ks), jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience(aud))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(g.Close)
		guards = append(guards, g)
	}
	for i, aud := range []string{"orders", "billing", "admin"} {
		if err := authErr(guards[i], iss.Sign(jwtguardtest.Claims{"aud": aud})); err != nil {
			t.Fatal(err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("three guards on one KeySet fetched %d times, want 1", n)
	}
	if st := ks.Status(); !st.Ready || len(st.KeyIDs) != 1 {
		t.Fatalf("status %+v", st)
	}
}

// TestAnchorsShareKeySource: trusted issuers on one JWKS URL share one source.
func TestAnchorsShareKeySource(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	fetches := countingJWKS(iss)
	g, err := jwtguard.New(t.Context(), jwtguard.WithAudience(audience),
		jwtguard.WithTrustedIssuer("https://tenant-a.example", jwtguard.WithJWKS(iss.JWKSURL())),
		jwtguard.WithTrustedIssuer("https://tenant-b.example", jwtguard.WithJWKS(iss.JWKSURL())),
		jwtguard.WithTrustedIssuer("https://tenant-c.example", jwtguard.WithJWKS(iss.JWKSURL())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	for _, tenant := range []string{"a", "b", "c"} {
		if err := authErr(g, iss.Sign(jwtguardtest.Claims{"iss": "https://tenant-" + tenant + ".example", "aud": audience})); err != nil {
			t.Fatal(err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("three anchors on one JWKS URL fetched %d times, want 1", n)
	}
	if n := len(g.Status().KeySources); n != 1 {
		t.Fatalf("%d key sources, want 1", n)
	}
}

// TestCloseStopsEverything: after Close no refresh runs; synctest fails
// the test if a goroutine of the guard outlives it.
func TestCloseStopsEverything(t *testing.T) {
	t.Parallel()
	f := newFaultyJWKS(t, "ES256") // outside the bubble: its server does real I/O
	f.maxAge.Store(60)
	synctest.Test(t, func(t *testing.T) {
		g := f.guard(t, context.Background())
		if err := authErr(g, f.token()); err != nil {
			t.Fatal(err)
		}
		g.Close()
		g.Close() // twice is fine
		hits := f.hits.Load()
		time.Sleep(time.Hour)
		synctest.Wait()
		if f.hits.Load() != hits {
			t.Fatalf("%d fetches after Close", f.hits.Load()-hits)
		}
		if err := authErr(g, f.token()); err != nil { // verification goes on with the loaded keys
			t.Fatalf("after Close: %v", err)
		}
	})
}

func TestNoOpCombinationsRefused(t *testing.T) {
	t.Parallel()
	base := []jwtguard.Option{jwtguard.WithHMACSecret(make([]byte, 32)), jwtguard.WithIssuer("i"), jwtguard.WithAudience("a")}
	for _, extra := range [][]jwtguard.Option{
		{jwtguard.InsecureAllowUnencryptedTokens()},
		{jwtguard.WithTrustedOrigins("https://app.example"), jwtguard.WithoutCrossOriginCheck()},
		{jwtguard.WithClock(nil)},
	} {
		if _, err := jwtguard.New(t.Context(), append(base, extra...)...); !errors.Is(err, jwtguard.ErrConfig) {
			t.Errorf("%v: got %v, want ErrConfig", extra, err)
		}
	}
}
