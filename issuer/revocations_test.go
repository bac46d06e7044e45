package issuer_test

import (
	"context"
	"errors"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
)

// TestRevokeSubject: signing a subject out everywhere refuses its access
// tokens and the refresh of every session it had, and leaves sessions that
// start afterwards alone.
func TestRevokeSubject(t *testing.T) {
	t.Parallel()
	a := newSessionApp(t)
	laptop, phone := login(t, a), login(t, a)
	a.clock.Add(time.Second)
	if err := a.sessions.RevokeSubject(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	for name, cookies := range map[string]jar{"laptop": laptop, "phone": phone} {
		if w := a.do(t, "GET", "/app", jar{accessName: cookies[accessName]}, nil); w.Code != 401 {
			t.Errorf("%s's access token after RevokeSubject: %d, want 401", name, w.Code)
		}
		if w := a.do(t, "POST", "/auth/refresh", cookies.refreshing(), nil); w.Code != 401 {
			t.Errorf("%s's refresh after RevokeSubject: %d, want 401", name, w.Code)
		}
	}
	a.clock.Add(time.Second)
	fresh := login(t, a)
	if w := a.do(t, "GET", "/app", fresh, nil); w.Code != 200 {
		t.Fatalf("a login after RevokeSubject: %d, want 200", w.Code)
	}
	if w := a.do(t, "POST", "/auth/refresh", fresh, nil); w.Code != 204 {
		t.Fatalf("refresh of a session started after RevokeSubject: %d, want 204", w.Code)
	}
}

// TestSharedRevocations: two instances sharing a store and revocations
// (what the Redis module provides for a fleet): a logout on one is refused
// on the other, and the guards never ask the store.
func TestSharedRevocations(t *testing.T) {
	t.Parallel()
	store := issuer.NewMemoryStore(nil)
	shared := issuer.LocalRevocations(jwtguard.NewRevocationList(nil))
	a := newSessionApp(t, issuer.WithStore(store), issuer.WithRevocations(shared))
	b := newSessionApp(t, issuer.WithStore(store), issuer.WithRevocations(shared))
	cookies := login(t, a)
	// b trusts a's keys only in this test's world: use a's guard for a's
	// tokens, b's handlers for the refresh.
	refreshed := cookies.refreshing()
	if w := b.do(t, "POST", "/auth/refresh", refreshed, nil); w.Code != 204 {
		t.Fatalf("refresh on b of a login on a: %d", w.Code)
	}
	if w := b.do(t, "POST", "/auth/logout", refreshed.refreshing(), nil); w.Code != 204 {
		t.Fatalf("logout on b: %d", w.Code)
	}
	if w := a.do(t, "GET", "/app", jar{accessName: cookies[accessName]}, nil); w.Code != 401 {
		t.Fatalf("a's access token on a after logout on b: %d, want 401", w.Code)
	}
}

// failingRevocations fails on demand: Revoke methods with an error, Revoked
// with one that is not ErrRevoked (a mirror out of date).
type failingRevocations struct {
	issuer.Revocations
	writeDown, readDown atomic.Bool
}

var errRevocationsDown = errors.New("revocations down")

func (f *failingRevocations) Revoked(c *jwtguard.Claims) error {
	if f.readDown.Load() {
		return errRevocationsDown
	}
	return f.Revocations.Revoked(c)
}

func (f *failingRevocations) RevokeSession(ctx context.Context, iss, sid string, until time.Time) error {
	if f.writeDown.Load() {
		return errRevocationsDown
	}
	return f.Revocations.RevokeSession(ctx, iss, sid, until)
}

// TestRevocationsDown: revocations that cannot record fail logout with 503;
// revocations that cannot tell fail refresh with 503 (cookies kept) and
// the guard with 503 (fail closed).
func TestRevocationsDown(t *testing.T) {
	t.Parallel()
	rev := &failingRevocations{Revocations: issuer.LocalRevocations(jwtguard.NewRevocationList(nil))}
	a := newSessionApp(t, issuer.WithRevocations(rev))
	cookies := login(t, a)
	rev.readDown.Store(true)
	if w := a.do(t, "POST", "/auth/refresh", cookies, nil); w.Code != 503 || len(w.Result().Cookies()) != 0 {
		t.Fatalf("refresh, revocations cannot tell: %d, cookies %v; want 503, cookies kept", w.Code, w.Result().Cookies())
	}
	if w := a.do(t, "GET", "/app", cookies, nil); w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("guard, revocations cannot tell: %d, want 503 with Retry-After", w.Code)
	}
	rev.readDown.Store(false)
	rev.writeDown.Store(true)
	if w := a.do(t, "POST", "/auth/logout", cookies, nil); w.Code != 503 {
		t.Fatalf("logout, revocations cannot record: %d, want 503", w.Code)
	}
	rev.writeDown.Store(false)
	if w := a.do(t, "POST", "/auth/login", jar{}, url.Values{"user": {"alice"}, "password": {"secret"}}); w.Code != 204 {
		t.Fatalf("login once revocations are back: %d", w.Code)
	}
	if _, err := issuer.NewSessions(mustIssuer(t), issuer.WithRevocations(nil)); !errors.Is(err, issuer.ErrConfig) {
		t.Fatalf("nil revocations: %v", err)
	}
}
