package jwtguard_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestCacheWindowFractionalSeconds: the cache keeps a token's window in
// whole seconds, rounded inwards; a token whose exp, nbf or iat has a
// fraction is refused a moment after exp and a moment before nbf or iat,
// exactly as without the cache, however the guard's clock falls between
// whole seconds and whatever the leeway.
func TestCacheWindowFractionalSeconds(t *testing.T) {
	t.Parallel()
	base := time.Unix(1_900_000_000, 0)
	for _, leeway := range []time.Duration{0, 1500 * time.Millisecond} {
		for _, frac := range []float64{0.25, 0.5, 0.999} {
			start := base.Add(-10 * time.Second)
			clock := jwtguardtest.NewClock(start)
			iss := jwtguardtest.NewIssuer(t, "ES256")
			iss.SetClock(clock.Now)
			g := newGuard(t, iss, jwtguard.WithClock(clock.Now), jwtguard.WithLeeway(leeway))
			nbf := float64(base.Unix()) - 5 + frac // valid from nbf - leeway
			exp := float64(base.Unix()) + 5 + frac // till exp + leeway
			token := iss.Sign(jwtguardtest.Claims{"aud": audience, "nbf": nbf, "iat": nbf, "exp": exp})
			at := func(date float64) time.Time { // as the guard reads a NumericDate
				sec, f := math.Modf(date)
				return time.Unix(int64(sec), int64(f*1e9))
			}
			check := func(when time.Time, wantOK bool) {
				t.Helper()
				clock.Add(when.Sub(clock.Now())) // back or forth
				_, err := g.Verify(t.Context(), token)
				if ok := err == nil; ok != wantOK {
					t.Fatalf("leeway %v, fraction %v, at %v (nbf %.3f, exp %.3f): err = %v, want accepted %v",
						leeway, frac, when.Sub(base), nbf, exp, err, wantOK)
				}
			}
			from, till := at(nbf).Add(-leeway), at(exp).Add(leeway)
			check(from.Add(time.Second), true) // verified and cached
			check(from.Add(-time.Millisecond), false)
			check(from, true)
			check(till.Add(-time.Millisecond), true)
			check(till, false)
			check(till.Add(time.Millisecond), false)
			if _, err := g.Verify(t.Context(), token); !errors.Is(err, jwtguard.ErrExpired) {
				t.Fatalf("after exp: err = %v, want ErrExpired", err)
			}
		}
	}
}
