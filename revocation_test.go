package jwtguard_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestRevocationList: revoke by jti, by sid and by subject watermark; the
// check applies to cache hits; entries end with the tokens they cover.
func TestRevocationList(t *testing.T) {
	t.Parallel()
	clock := jwtguardtest.NewClock(time.Now().Truncate(time.Second))
	iss := jwtguardtest.NewIssuer(t, "ES256")
	iss.SetClock(clock.Now)
	tests := []struct {
		name    string
		claims  jwtguardtest.Claims
		revoke  func(l *jwtguard.RevocationList)
		wantErr error
	}{
		{"nothing revoked", jwtguardtest.Claims{"jti": "t1"}, func(*jwtguard.RevocationList) {}, nil},
		{"by jti", jwtguardtest.Claims{"jti": "t1"}, func(l *jwtguard.RevocationList) {
			l.RevokeToken(iss.URL, "t1", clock.Now().Add(time.Hour))
		}, jwtguard.ErrRevoked},
		{"jti of another issuer", jwtguardtest.Claims{"jti": "t1"}, func(l *jwtguard.RevocationList) {
			l.RevokeToken("https://other.example", "t1", clock.Now().Add(time.Hour))
		}, nil},
		{"by sid", jwtguardtest.Claims{"sid": "s1"}, func(l *jwtguard.RevocationList) {
			l.RevokeSession(iss.URL, "s1", clock.Now().Add(time.Hour))
		}, jwtguard.ErrRevoked},
		{"subject, issued before", jwtguardtest.Claims{"sub": "alice"}, func(l *jwtguard.RevocationList) {
			l.RevokeSubject(iss.URL, "alice", clock.Now().Add(time.Second), clock.Now().Add(time.Hour))
		}, jwtguard.ErrRevoked},
		{"subject, issued after", jwtguardtest.Claims{"sub": "alice"}, func(l *jwtguard.RevocationList) {
			l.RevokeSubject(iss.URL, "alice", clock.Now().Add(-time.Second), clock.Now().Add(time.Hour))
		}, nil},
		{"subject, no iat", jwtguardtest.Claims{"sub": "alice", "iat": nil}, func(l *jwtguard.RevocationList) {
			l.RevokeSubject(iss.URL, "alice", clock.Now().Add(-time.Hour), clock.Now().Add(time.Hour))
		}, jwtguard.ErrRevoked},
		{"entry expired", jwtguardtest.Claims{"jti": "t1"}, func(l *jwtguard.RevocationList) {
			l.RevokeToken(iss.URL, "t1", clock.Now().Add(-time.Second))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			list := jwtguard.NewRevocationList(clock.Now)
			g := newGuard(t, iss, jwtguard.WithClock(clock.Now), jwtguard.WithRevocations(list))
			c := jwtguardtest.Claims{"aud": audience}
			for k, v := range tt.claims {
				c[k] = v
			}
			token := iss.Sign(c)
			if err := authErr(g, token); err != nil { // verified and cached before the revocation
				t.Fatal(err)
			}
			tt.revoke(list)
			err := authErr(g, token)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("after revocation: %v, want %v", err, tt.wantErr)
			}
			if w := serve(g.Handler(protected), bearer(token)); tt.wantErr != nil && w.Code != 401 {
				t.Fatalf("revoked token: status %d", w.Code)
			}
		})
	}
}

// staleMirror stands for a fleet mirror that lost its source.
type staleMirror struct{}

func (staleMirror) Revoked(*jwtguard.Claims) error { return errors.New("mirror 45s behind") }

func TestRevokerFailsClosed(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g := newGuard(t, iss, jwtguard.WithRevocations(staleMirror{}))
	w := serve(g.Handler(protected), bearer(iss.Sign(jwtguardtest.Claims{"aud": audience})))
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("revocation state unknown: %d %v, want 503 with Retry-After", w.Code, w.Header())
	}
	if _, err := g.Authenticate(bearer(iss.Sign(jwtguardtest.Claims{"aud": audience}))); !errors.Is(err, jwtguard.ErrRevocationUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

func TestRevocationListConcurrent(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	list := jwtguard.NewRevocationList(nil)
	g := newGuard(t, iss, jwtguard.WithRevocations(list))
	token := iss.Sign(jwtguardtest.Claims{"aud": audience, "jti": "victim"})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 200 {
				_ = authErr(g, token)
				list.RevokeToken(iss.URL, string(rune('a'+i))+string(rune(j)), time.Now().Add(time.Minute))
			}
		})
	}
	wg.Wait()
	list.RevokeToken(iss.URL, "victim", time.Now().Add(time.Minute))
	if err := authErr(g, token); !errors.Is(err, jwtguard.ErrRevoked) {
		t.Fatalf("after concurrent use: %v", err)
	}
}

// BenchmarkRevocationCheck measures what a RevocationList adds to a cache
// hit through Guard.Verify: with nothing revoked since the token was last
// checked, and with 100,000 entries in the list.
func BenchmarkRevocationCheck(b *testing.B) {
	iss := jwtguardtest.NewIssuer(b, "ES256")
	token := iss.Sign(jwtguardtest.Claims{"aud": audience, "jti": "t", "sid": "s", "sub": "alice"})
	list := jwtguard.NewRevocationList(nil)
	for i := range 100_000 {
		list.RevokeToken(iss.URL, string(rune(i))+"x", time.Now().Add(time.Hour))
	}
	for _, tc := range []struct {
		name string
		opts []jwtguard.Option
	}{
		{"hit/none", nil},
		{"hit/list", []jwtguard.Option{jwtguard.WithRevocations(list)}},
		// Two lists: each finds the claims marked by the other, so each looks the token up.
		{"hit/two-lists", []jwtguard.Option{jwtguard.WithRevocations(list), jwtguard.WithRevocations(jwtguard.NewRevocationList(nil))}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			g, err := jwtguard.New(b.Context(), append([]jwtguard.Option{jwtguard.WithJWKS(iss.JWKSURL()),
				jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience(audience)}, tc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := g.Verify(b.Context(), token); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.Verify(b.Context(), token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTwoRevocationListsEachRefuseTheirOwn: a guard may consult several
// RevocationLists (Sessions.Revoker() and an operator's own, a Redis
// Mirror and a local list). Each list numbered its versions from 1 and
// the claims keep one goodAt, so a list skipped its lookup when its count
// met the other's, and a token only it had revoked was accepted, on first
// use and from the cache (an attack review's proof). Versions are unique
// across lists now.
func TestTwoRevocationListsEachRefuseTheirOwn(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	sessions := jwtguard.NewRevocationList(nil) // say, Sessions.Revoker()
	admin := jwtguard.NewRevocationList(nil)    // the operator's own list
	g := newGuard(t, iss, jwtguard.WithRevocations(sessions), jwtguard.WithRevocations(admin))
	until := time.Now().Add(time.Hour)

	// First request: each list has had one revocation (version 2 both).
	sessions.RevokeSession(iss.URL, "some-other-session", until)
	admin.RevokeToken(iss.URL, "stolen", until)
	stolen := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience, "jti": "stolen"})
	if c, err := g.Authenticate(bearer(stolen)); !errors.Is(err, jwtguard.ErrRevoked) {
		t.Errorf("token revoked in the second list, first use: accepted=%v (err %v); want ErrRevoked", c != nil, err)
	}

	// A cached token, revoked later, when the versions meet again.
	later := iss.Sign(jwtguardtest.Claims{"sub": "bob", "aud": audience, "jti": "later"})
	if _, err := g.Authenticate(bearer(later)); err != nil {
		t.Fatal(err)
	}
	sessions.RevokeSession(iss.URL, "yet-another-session", until) // sessions: version 3
	admin.RevokeToken(iss.URL, "later", until)                    // admin: version 3
	if c, err := g.Authenticate(bearer(later)); !errors.Is(err, jwtguard.ErrRevoked) {
		t.Errorf("cached token revoked in the second list: accepted=%v (err %v); want ErrRevoked", c != nil, err)
	}
	// Each list alone refuses both tokens.
	for _, tok := range []string{stolen, later} {
		if _, err := newGuard(t, iss, jwtguard.WithRevocations(admin)).Authenticate(bearer(tok)); !errors.Is(err, jwtguard.ErrRevoked) {
			t.Fatalf("admin list alone: %v", err)
		}
	}
}
