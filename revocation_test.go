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
	}{{"hit/none", nil}, {"hit/list", []jwtguard.Option{jwtguard.WithRevocations(list)}}} {
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
