package jwtguard_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestSharedKeySetStaleWindowOnCacheHit: a shared KeySet with its own
// clock goes past its stale window (its JWKS down for two days by its clock).
// A token the guard never saw is refused (keys unavailable), but a token
// cached before the outage is still accepted: the cache hit now checks the
// key set's stale window with the guard's clock, not the key set's.
func TestSharedKeySetStaleWindowOnCacheHit(t *testing.T) {
	t0 := time.Now()
	guardClk, ksClk := jwtguardtest.NewClock(t0), jwtguardtest.NewClock(t0)
	iss, down := issuerWithOutage(t, guardClk, 300)
	ks, err := jwtguard.NewKeySet(t.Context(), iss.JWKSURL(), jwtguard.WithClock(ksClk.Now),
		jwtguard.WithKeySetSettings(jwtguard.KeySetSettings{StaleFor: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ks.Close)
	if err := ks.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	g, err := jwtguard.New(t.Context(), jwtguard.WithKeySet(ks), jwtguard.WithIssuer(iss.URL),
		jwtguard.WithAudience("api"), jwtguard.WithClock(guardClk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	cached := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": "api"})
	if _, err := g.Authenticate(bearer(cached)); err != nil { // ES256: cached on first use
		t.Fatal(err)
	}
	fresh := iss.Sign(jwtguardtest.Claims{"sub": "bob", "aud": "api"})

	down.Store(true)
	ksClk.Add(48 * time.Hour) // the key set: far past freshTill+StaleFor
	guardClk.Add(time.Minute) // the guard: tokens still within exp

	_, errFresh := g.Authenticate(bearer(fresh))
	t.Logf("uncached token: %v", errFresh)
	if !errors.Is(errFresh, jwtguard.ErrKeysUnavailable) {
		t.Fatalf("uncached token: got %v, want ErrKeysUnavailable (key set past its stale window)", errFresh)
	}
	c, errCached := g.Authenticate(bearer(cached))
	if errCached == nil {
		t.Fatalf("cached token accepted (sub %q) from a key set past its stale window; the same guard refuses an uncached token with %v", c.Subject(), errFresh)
	}
	t.Logf("cached token: %v", errCached)
}
