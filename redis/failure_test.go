package jwtguardredis_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	jwtguardredis "github.com/jwtguard/jwtguard/redis"
	"github.com/jwtguard/jwtguard/redis/redistest"
	"github.com/redis/go-redis/v9"
)

// fast makes a mirror notice trouble in tests: a one-second bound (the
// smallest allowed), polled every 100ms.
var fast = []jwtguardredis.MirrorOption{jwtguardredis.WithFreshness(time.Second), jwtguardredis.WithPollInterval(100 * time.Millisecond)}

// TestRedisKilledAndRestarted: Redis dies (SIGKILL) mid-run. Access tokens
// keep working from memory within the bound, refresh fails closed (503),
// then past the bound every token is refused with 503. Restarted, the
// fleet recovers: with persistence sessions and revocations survive;
// without, sessions are gone (refresh 401, log in again) and the instances
// write back the revocations they hold, so even an instance started after
// the restart refuses a token revoked before it.
func TestRedisKilledAndRestarted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opts    []redistest.Option
		refresh int // bob's refresh after the restart
	}{
		{"appendonly", []redistest.Option{redistest.Persistent()}, 204},
		{"no persistence", nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t, tc.opts...)
			f := newFleet(t)
			a := f.instance(t, "a", srv.Client(), instanceConfig{mirror: fast, wait: true})
			b := f.instance(t, "b", srv.Client(), instanceConfig{mirror: fast, wait: true})
			alice, bob := a.login(t, "alice"), a.login(t, "bob")
			aliceAccess := alice[accessName]
			if w := a.do(t, "POST", "/auth/logout", alice, nil); w.Code != 204 {
				t.Fatalf("logout: %d", w.Code)
			}
			eventually(t, time.Second, "logout propagated to b", func() bool { return b.app(t, aliceAccess) == 401 })

			srv.Kill()
			if w := b.do(t, "POST", "/auth/refresh", bob.clone(), nil); w.Code != 503 || w.Header().Get("Retry-After") == "" {
				t.Fatalf("refresh with Redis down: %d, want 503 with Retry-After", w.Code)
			}
			eventually(t, 5*time.Second, "b fails closed past the bound", func() bool { return b.app(t, bob[accessName]) == 503 })
			// Stale, and saying why: no connection, or the last error (which
			// one shows first depends on where the sync loop was blocked).
			if st := b.mirror.Status(); st.Fresh || (st.Connected && st.LastError == "") {
				t.Fatalf("status with Redis down: %+v", st)
			}

			srv.Restart()
			for _, in := range []*instance{a, b} {
				eventually(t, 10*time.Second, in.name+" recovers", func() bool { return in.app(t, bob[accessName]) == 200 })
				if in.app(t, aliceAccess) != 401 {
					t.Fatalf("alice's revoked token accepted on %s after the restart", in.name)
				}
			}
			if w := b.do(t, "POST", "/auth/refresh", bob, nil); w.Code != tc.refresh {
				t.Fatalf("bob's refresh after the restart: %d, want %d", w.Code, tc.refresh)
			}
			c := f.instance(t, "c", srv.Client(), instanceConfig{mirror: fast, wait: true})
			eventually(t, 5*time.Second, "an instance started after the restart refuses alice's revoked token", func() bool {
				return c.app(t, aliceAccess) == 401
			})
		})
	}
}

// TestRedisPaused: a Redis that stops answering (SIGSTOP) but keeps its
// connections open. Past the bound the guard answers 503 with
// Retry-After, except on an instance that opted into failing open; resumed
// (SIGCONT), the fleet recovers by itself.
func TestRedisPaused(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	f := newFleet(t)
	a := f.instance(t, "a", srv.Client(), instanceConfig{mirror: fast, wait: true})
	open := f.instance(t, "open", srv.Client(), instanceConfig{wait: true,
		mirror: append([]jwtguardredis.MirrorOption{jwtguardredis.InsecureFailOpenWhenStale()}, fast...)})
	alice := a.login(t, "alice")
	srv.Pause()
	t.Cleanup(srv.Resume)
	eventually(t, 5*time.Second, "503 past the bound", func() bool { return a.app(t, alice[accessName]) == 503 })
	w := a.do(t, "GET", "/app", jar{accessName: alice[accessName]}, nil)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("stale mirror: %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	eventually(t, 5*time.Second, "fail-open instance stale", func() bool { return !open.mirror.Status().Fresh })
	if code := open.app(t, alice[accessName]); code != 200 {
		t.Fatalf("fail-open instance with a stale mirror: %d, want 200", code)
	}
	srv.Resume()
	eventually(t, 10*time.Second, "recovered after SIGCONT", func() bool { return a.app(t, alice[accessName]) == 200 })
	if st := a.mirror.Status(); !st.Fresh || st.LastError != "" || st.Lag > time.Second {
		t.Fatalf("status after recovery: %+v", st)
	}
}

// TestMirrorRedisDownAtStart: a mirror whose Redis is down refuses (503)
// and WaitReady says so; once Redis is up it syncs by itself.
func TestMirrorRedisDownAtStart(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	srv.Kill()
	m, err := jwtguardredis.NewMirror(t.Context(), srv.Client(), fast...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c, err := jwtguard.ClaimsFromJSON([]byte(`{"iss":"https://login.example","sub":"alice","sid":"s1"}`))
	if err != nil {
		t.Fatal(err)
	}
	var je *jwtguard.Error
	if err := m.Revoked(c); !errors.Is(err, jwtguard.ErrRevocationUnavailable) || errors.Is(err, jwtguard.ErrRevoked) ||
		!errors.As(err, &je) || je.Status != 503 || je.RetryAfter < 1 {
		t.Fatalf("never synced: %v, want ErrRevocationUnavailable (503, Retry-After)", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := m.WaitReady(ctx); err == nil {
		t.Fatal("WaitReady with Redis down: nil")
	}
	eventually(t, 10*time.Second, "the sync's error in Status", func() bool { return m.Status().LastError != "" })
	if st := m.Status(); st.Fresh || !st.LastSync.IsZero() || st.Connected {
		t.Fatalf("status with Redis down at start: %+v", st)
	}
	srv.Restart()
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := m.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Revoked(c); err != nil {
		t.Fatalf("synced: %v", err)
	}
	eventually(t, 5*time.Second, "subscription up", func() bool { return m.Status().Connected })
}

// TestMirrorRevokeAPI: revoking by jti, sid and subject watermark from one
// mirror reaches another, and entries Redis already holds are not
// renumbered; Revoke reports a Redis failure but applies locally.
func TestMirrorRevokeAPI(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := t.Context()
	a := startMirror(t, srv.Client())
	b := startMirror(t, srv.Client())
	until := time.Now().Add(time.Hour)
	claims := func(s string) *jwtguard.Claims {
		c, err := jwtguard.ClaimsFromJSON([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	byJTI := claims(`{"iss":"i","sub":"u1","jti":"j1"}`)
	bySID := claims(`{"iss":"i","sub":"u2","sid":"s1"}`)
	old := claims(`{"iss":"i","sub":"u3","iat":1000}`)
	fresh := claims(`{"iss":"i","sub":"u3","iat":` + itoa(time.Now().Add(time.Minute).Unix()) + `}`)
	other := claims(`{"iss":"other","sub":"u1","jti":"j1"}`)
	for _, err := range []error{
		a.RevokeToken(ctx, "i", "j1", until),
		a.RevokeSession(ctx, "i", "s1", until),
		a.RevokeSubject(ctx, "i", "u3", time.Now(), until),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*jwtguard.Claims{byJTI, bySID, old} {
		eventually(t, time.Second, "revocation reaches b", func() bool { return isRevoked(b.Revoked(c)) })
	}
	for _, c := range []*jwtguard.Claims{fresh, other} {
		if err := b.Revoked(c); err != nil {
			t.Fatalf("not revoked: %v", err)
		}
	}
	seq := a.Status().Seq
	if err := b.RevokeToken(ctx, "i", "j1", until.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := b.Status().Seq; got != seq {
		t.Fatalf("an entry Redis already holds was renumbered: seq %d → %d", seq, got)
	}
	if st := b.Status(); st.Entries != 3 || !st.Fresh || !st.Connected || st.Epoch == "" {
		t.Fatalf("status: %+v", st)
	}
	srv.Kill()
	if err := a.RevokeToken(ctx, "i", "j2", until); err == nil {
		t.Fatal("RevokeToken with Redis down: nil error")
	}
	if err := a.Revoked(claims(`{"iss":"i","jti":"j2"}`)); !isRevoked(err) {
		t.Fatalf("revoked locally despite Redis down: %v", err)
	}
}

func startMirror(t testing.TB, rdb redis.UniversalClient, opts ...jwtguardredis.MirrorOption) *jwtguardredis.Mirror {
	t.Helper()
	m, err := jwtguardredis.NewMirror(context.Background(), rdb, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return m
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
