package jwtguard_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestCachedTokenStillExpires: a cache hit re-checks exp and nbf with the
// guard's clock and leeway; an entry never outlives its token.
func TestCachedTokenStillExpires(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	clk := jwtguardtest.NewClock(time.Now())
	iss.SetClock(clk.Now)
	g := newGuard(t, iss, jwtguard.WithClock(clk.Now), jwtguard.WithLeeway(10*time.Second))
	token := iss.Sign(jwtguardtest.Claims{"aud": audience, "exp": clk.Now().Add(time.Minute).Unix(), "nbf": clk.Now().Add(-time.Second).Unix()})
	for range 4 { // a miss, a miss that enters the cache, then hits
		if _, err := g.Verify(t.Context(), token); err != nil {
			t.Fatal(err)
		}
	}
	if st := g.Status(); st.CacheHits < 2 || st.CacheSize != 1 {
		t.Fatalf("cache status %+v, want hits", st)
	}
	clk.Add(time.Minute + 9*time.Second) // within leeway
	if _, err := g.Verify(t.Context(), token); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	clk.Add(2 * time.Second)
	if _, err := g.Verify(t.Context(), token); !errors.Is(err, jwtguard.ErrExpired) {
		t.Fatalf("expired cached token: %v, want ErrExpired", err)
	}

	future := iss.Sign(jwtguardtest.Claims{"aud": audience, "nbf": clk.Now().Add(time.Hour).Unix()})
	for range 2 {
		if _, err := g.Verify(t.Context(), future); !errors.Is(err, jwtguard.ErrNotYetValid) {
			t.Fatalf("not yet valid: %v", err)
		}
	}
}

// TestCacheOnlySuccessesAndBounded: failures are never cached, tokens over
// 4 KiB are never cached, and the cache never holds more than its size.
func TestCacheOnlySuccessesAndBounded(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "EdDSA")
	g := newGuard(t, iss, jwtguard.WithVerifiedTokenCache(64))
	bad := iss.Sign(jwtguardtest.Claims{"aud": "other"})
	for range 3 {
		_, _ = g.Verify(t.Context(), bad)
	}
	if st := g.Status(); st.CacheSize != 0 {
		t.Fatalf("a refused token was cached: %+v", st)
	}
	big := iss.Sign(jwtguardtest.Claims{"aud": audience, "pad": fmt.Sprintf("%05000d", 0)})
	if _, err := g.Verify(t.Context(), big); err != nil {
		t.Fatal(err)
	}
	if st := g.Status(); st.CacheSize != 0 {
		t.Fatalf("a token over 4 KiB was cached: %+v", st)
	}
	for i := range 500 {
		token := iss.Sign(jwtguardtest.Claims{"aud": audience, "n": i})
		for range 2 { // a token enters the cache on its second use
			if _, err := g.Verify(t.Context(), token); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st := g.Status(); st.CacheSize > 64 || st.CacheSize == 0 {
		t.Fatalf("cache holds %d entries, bound 64", st.CacheSize)
	}
}

// TestCacheConcurrent hammers one guard with hits and misses under -race.
func TestCacheConcurrent(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss, jwtguard.WithVerifiedTokenCache(128))
	tokens := make([]string, 32)
	for i := range tokens {
		tokens[i] = iss.Sign(jwtguardtest.Claims{"aud": audience, "n": i})
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if _, err := g.Verify(t.Context(), tokens[(w*7+i)%len(tokens)]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if st := g.Status(); st.CacheHits == 0 {
		t.Fatalf("no cache hits: %+v", st)
	}
}

// TestCacheAdmitsOnSecondUse: a token verified once stays out of the cache
// (no insertion, no memory kept); its second use puts it in; a flood of
// distinct tokens, each used once, does not push out a token in use.
func TestCacheAdmitsOnSecondUse(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "HS256")
	g, err := jwtguard.New(t.Context(), jwtguard.WithHMACSecret(iss.Secret()), jwtguard.WithIssuer(iss.URL),
		jwtguard.WithAudience(audience), jwtguard.WithVerifiedTokenCache(64))
	if err != nil {
		t.Fatal(err)
	}
	hot := iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "hot"})
	verify := func(token string) {
		t.Helper()
		if _, err := g.Verify(t.Context(), token); err != nil {
			t.Fatal(err)
		}
	}
	verify(hot)
	if st := g.Status(); st.CacheSize != 0 {
		t.Fatalf("after one use: %d entries, want 0", st.CacheSize)
	}
	verify(hot)
	if st := g.Status(); st.CacheSize != 1 {
		t.Fatalf("after two uses: %d entries, want 1", st.CacheSize)
	}
	for i := range 1000 {
		verify(iss.Sign(jwtguardtest.Claims{"aud": audience, "n": i}))
	}
	before := g.Status().CacheHits
	verify(hot)
	if st := g.Status(); st.CacheHits != before+1 || st.CacheSize != 1 {
		t.Fatalf("after 1000 one-use tokens: %d entries, hot token hit: %v; want it still cached, alone", st.CacheSize, st.CacheHits == before+1)
	}
}
