package jwtguard_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestReviewHMACCacheConcurrent: many goroutines, HS256 tokens on their
// first, second and later uses, a tiny cache (doorkeeper slot collisions),
// a validator that flips: every answer is the token's own claims, and a
// refused token is never served from the cache.
func TestReviewHMACCacheConcurrent(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "HS256")
	var deny sync.Map // sub -> true: the validator refuses it
	g := newGuard(t, iss, jwtguard.WithVerifiedTokenCache(8),
		jwtguard.WithValidator(func(_ context.Context, c *jwtguard.Claims) error {
			if _, ok := deny.Load(c.Subject()); ok {
				return errors.New("denied")
			}
			return nil
		}))
	t.Cleanup(g.Close)
	const n = 300
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": fmt.Sprint("u", i), "jti": fmt.Sprint(i)})
	}
	var bad atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for k := range 4000 {
				i := (k*7 + w*13) % n
				if k%50 == 0 {
					deny.Store(fmt.Sprint("u", i), true)
				}
				denied := false
				if _, ok := deny.Load(fmt.Sprint("u", i)); ok {
					denied = true
				}
				c, err := g.Verify(t.Context(), tokens[i])
				switch {
				case err == nil && c.Subject() != fmt.Sprint("u", i):
					bad.Add(1)
					t.Errorf("token %d got claims of %s", i, c.Subject())
				case err == nil && denied:
					bad.Add(1)
					t.Errorf("token %d accepted while denied", i)
				}
			}
		})
	}
	wg.Wait()
	// A token verified once, then tampered: never a hit.
	tok := tokens[1]
	for range 3 {
		_, _ = g.Verify(t.Context(), tok)
	}
	if _, err := g.Verify(t.Context(), tamper(tok)); err == nil {
		t.Fatal("tampered token accepted")
	}
	_ = time.Now
}

func TestReviewHMACRevokedAfterCached(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "HS256")
	rl := jwtguard.NewRevocationList(nil)
	g := newGuard(t, iss, jwtguard.WithRevocations(rl))
	t.Cleanup(g.Close)
	tok := iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "a", "jti": "j1"})
	for range 3 {
		if _, err := g.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if st := g.Status(); st.CacheHits == 0 {
		t.Fatalf("not cached: %+v", st)
	}
	rl.RevokeToken(iss.URL, "j1", time.Now().Add(time.Hour))
	if _, err := g.Verify(t.Context(), tok); err == nil {
		t.Fatal("revoked cached HMAC token accepted")
	}
	tok2 := iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "b", "jti": "j2"})
	_, _ = g.Verify(t.Context(), tok2) // doorkeeper marks it
	rl.RevokeToken(iss.URL, "j2", time.Now().Add(time.Hour))
	for range 3 {
		if _, err := g.Verify(t.Context(), tok2); err == nil {
			t.Fatal("revoked token accepted")
		}
	}
}
