package jwtguardredis_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/issuer"
	jwtguardredis "github.com/jwtguard/jwtguard/redis"
	"github.com/jwtguard/jwtguard/redis/redistest"
	"github.com/redis/go-redis/v9"
)

// TestStoreUse: the issuer.Store contract Sessions relies on, as
// issuer.MemoryStore's test checks it, on Redis: of concurrent uses of one
// token exactly one sees it unused and raises the family head; each other
// sees the first use's time and a different Reuses.
func TestStoreUse(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	now := time.Now()
	s, err := jwtguardredis.NewStore(srv.Client(), jwtguardredis.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	rec := issuer.RefreshRecord{Hash: [32]byte{1}, Family: "f", Subject: "alice", Generation: 3,
		Claims:     map[string]any{"scope": "a b", "n": 1.5},
		IdleExpiry: now.Add(time.Hour), FamilyExpiry: now.Add(2 * time.Hour),
		UsedAt: now, Reuses: 7, FamilyHead: 9, FamilyRevoked: true} // kept by the store: ignored
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, rec); err == nil {
		t.Fatal("duplicate Create: nil error")
	}
	const n = 16
	got := make([]issuer.RefreshRecord, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := s.Use(ctx, rec.Hash, now.Add(time.Duration(i)*time.Second))
			if err != nil {
				t.Error(err)
			}
			got[i] = r
		})
	}
	wg.Wait()
	first := slices.IndexFunc(got, func(r issuer.RefreshRecord) bool { return r.UsedAt.IsZero() })
	if first < 0 || got[first].FamilyHead != 3 || got[first].Reuses != 0 || got[first].FamilyRevoked ||
		got[first].Subject != "alice" || got[first].Claims["scope"] != "a b" || got[first].Generation != 3 ||
		!got[first].IdleExpiry.Equal(rec.IdleExpiry) || !got[first].FamilyExpiry.Equal(rec.FamilyExpiry) {
		t.Fatalf("no first use, or a wrong one: %+v", got)
	}
	var reuses []int
	for i, r := range got {
		if i == first {
			continue
		}
		if !r.UsedAt.Equal(now.Add(time.Duration(first)*time.Second)) || r.FamilyHead != 4 {
			t.Fatalf("later use %+v: want the first use's time and head 4", r)
		}
		reuses = append(reuses, r.Reuses)
	}
	slices.Sort(reuses)
	for i, r := range reuses {
		if r != i {
			t.Fatalf("Reuses seen by the later uses: %v, want 0..%d once each", reuses, n-2)
		}
	}
	if revoked, err := s.FamilyRevoked(ctx, "f"); err != nil || revoked {
		t.Fatalf("FamilyRevoked before RevokeFamily: %v %v", revoked, err)
	}
	if err := s.RevokeFamily(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Use(ctx, rec.Hash, now); !r.FamilyRevoked {
		t.Fatal("Use after RevokeFamily: family not reported revoked")
	}
	if revoked, err := s.FamilyRevoked(ctx, "f"); err != nil || !revoked {
		t.Fatalf("FamilyRevoked after RevokeFamily: %v %v", revoked, err)
	}
	if _, err := s.Use(ctx, [32]byte{2}, now); !errors.Is(err, issuer.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	srv.Kill()
	if _, err := s.Use(ctx, rec.Hash, now); err == nil || errors.Is(err, issuer.ErrNotFound) {
		t.Fatalf("Use with Redis down: %v, want an error other than ErrNotFound", err)
	}
}

// TestKeysHashedAndExpiring: Redis never holds a refresh token, only its
// hash; every session key expires (unused tokens within the idle lifetime,
// spent ones within the absolute lifetime, families 11 minutes after); the prefix
// starts every key.
func TestKeysHashedAndExpiring(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := srv.Client()
	f := newFleet(t)
	in := f.instance(t, "a", rdb, instanceConfig{wait: true,
		session: []issuer.SessionOption{issuer.WithRefreshLifetimes(time.Hour, 3*time.Hour)}})
	cookies := in.login(t, "alice")
	spent := cookies[refreshName]
	in.do(t, "POST", "/auth/refresh", cookies, nil)
	in.do(t, "POST", "/auth/logout", cookies.clone(), nil)
	ctx := t.Context()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{spent, cookies[refreshName], cookies[bindingName]} {
		raw, _ := base64.RawURLEncoding.DecodeString(token)
		for _, k := range keys {
			v, _ := rdb.Dump(ctx, k).Result()
			if strings.Contains(k+v, token) || strings.Contains(k+v, string(raw)) || strings.Contains(k+v, hex.EncodeToString(raw)) {
				t.Fatalf("key %q holds a refresh token or binding", k)
			}
		}
	}
	durable := []string{"jwtguard:{revocations}:log", "jwtguard:{revocations}:seq", "jwtguard:{revocations}:epoch", "jwtguard:{revocations}:set"}
	var tokens int
	for _, k := range keys {
		if !strings.HasPrefix(k, "jwtguard:") {
			t.Errorf("key %q without the prefix", k)
		}
		if slices.Contains(durable, k) {
			continue
		}
		ttl, err := rdb.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 {
			t.Errorf("key %q: TTL %v %v, want one", k, ttl, err)
		}
		limit := 3 * time.Hour
		if strings.HasPrefix(k, "jwtguard:family:") {
			limit += 11 * time.Minute // the family's revocation outlives its access tokens
		}
		if strings.HasPrefix(k, "jwtguard:token:") {
			tokens++
			if used, _ := rdb.HGet(ctx, k, "used").Result(); used == "0" {
				limit = time.Hour
			}
		}
		if ttl > limit {
			t.Errorf("key %q: TTL %s, want at most %s", k, ttl, limit)
		}
	}
	if tokens != 2 {
		t.Fatalf("%d token keys, want 2 (the spent one, kept to detect its replay, and the live one)", tokens)
	}
}

// TestKeyPrefix: two applications share a Redis under two prefixes and see
// nothing of each other; a prefix with a hash-tag brace is refused.
func TestKeyPrefix(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := t.Context()
	one := startMirror(t, rdb, jwtguardredis.WithKeyPrefix("one:"))
	two := startMirror(t, rdb, jwtguardredis.WithKeyPrefix("two:"))
	if err := one.RevokeToken(ctx, "i", "j", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	store, err := jwtguardredis.NewStore(rdb, jwtguardredis.WithKeyPrefix("one:"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RevokeFamily(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	keys, _ := rdb.Keys(ctx, "*").Result()
	for _, k := range keys {
		if !strings.HasPrefix(k, "one:") && !strings.HasPrefix(k, "two:") {
			t.Errorf("key %q outside both prefixes", k)
		}
	}
	if two.Status().Entries != 0 {
		t.Fatal("a revocation under one prefix reached the other")
	}
	for _, p := range []string{"{app}:", "a}"} {
		if _, err := jwtguardredis.NewStore(rdb, jwtguardredis.WithKeyPrefix(p)); !errors.Is(err, jwtguardredis.ErrConfig) {
			t.Errorf("prefix %q: %v, want ErrConfig", p, err)
		}
	}
	if _, err := jwtguardredis.NewMirror(ctx, rdb, jwtguardredis.WithFreshness(time.Second), jwtguardredis.WithPollInterval(time.Second)); !errors.Is(err, jwtguardredis.ErrConfig) {
		t.Errorf("poll interval above a third of the bound: %v, want ErrConfig", err)
	}
	if _, err := jwtguardredis.NewMirror(ctx, nil); !errors.Is(err, jwtguardredis.ErrConfig) {
		t.Errorf("nil client: %v, want ErrConfig", err)
	}
}

// TestCluster runs a fleet on a local 3-master Redis Cluster: every script
// touches one slot (a CROSSSLOT error would surface as a 503), and the
// sessions spread over the masters.
func TestCluster(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3)
	f := newFleet(t)
	a := f.instance(t, "a", cl.Client(t), instanceConfig{wait: true})
	b := f.instance(t, "b", cl.Client(t), instanceConfig{wait: true})
	var sessions []jar
	for i := range 24 {
		s := a.login(t, "user"+strings.Repeat("x", i))
		if w := b.do(t, "POST", "/auth/refresh", s, nil); w.Code != 204 {
			t.Fatalf("refresh %d on b: %d %s", i, w.Code, w.Body)
		}
		sessions = append(sessions, s)
	}
	// Logout on b, refused on a.
	saved := sessions[0].clone()
	if w := b.do(t, "POST", "/auth/logout", sessions[0], nil); w.Code != 204 {
		t.Fatalf("logout: %d", w.Code)
	}
	eventually(t, time.Second, "logout on b refused on a", func() bool { return a.app(t, saved[accessName]) == 401 })
	// Reuse after the grace window revokes the family.
	spent := sessions[1].refreshing()
	if w := a.do(t, "POST", "/auth/refresh", sessions[1], nil); w.Code != 204 {
		t.Fatalf("refresh: %d", w.Code)
	}
	f.clock.Add(11 * time.Second)
	if w := b.do(t, "POST", "/auth/refresh", spent, nil); w.Code != 401 {
		t.Fatalf("replay: %d", w.Code)
	}
	eventually(t, time.Second, "the replayed family refused on a", func() bool { return a.app(t, sessions[1][accessName]) == 401 })
	if err := a.sessions.RevokeSubject(t.Context(), "userxx"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "sign out everywhere on the cluster", func() bool { return b.app(t, sessions[2][accessName]) == 401 })
	if b.app(t, sessions[3][accessName]) != 200 {
		t.Fatal("another subject refused")
	}
	// The families landed on more than one master.
	var used int
	for _, addr := range cl.Addrs {
		n := redis.NewClient(&redis.Options{Addr: addr})
		if size, err := n.DBSize(context.Background()).Result(); err == nil && size > 0 {
			used++
		}
		n.Close()
	}
	if used < 2 {
		t.Fatalf("keys on %d of %d masters: the test does not exercise slots", used, len(cl.Addrs))
	}
}

// TestStoreStaleSiblingStaysUnused: as issuer.MemoryStore, Use of a token
// older than its family's newest generation never marks it used, so each
// of its uses is reported as the stale first use it is (which revokes the
// family), never as a reuse within the grace window, even when the
// revocation that should have followed an earlier use did not happen.
func TestStoreStaleSiblingStaysUnused(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	now := time.Now()
	s, err := jwtguardredis.NewStore(srv.Client(), jwtguardredis.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, h := range [][32]byte{{1}, {2}} { // siblings of generation 0
		if err := s.Create(ctx, issuer.RefreshRecord{Hash: h, Family: "f", Subject: "alice",
			IdleExpiry: now.Add(time.Hour), FamilyExpiry: now.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := s.Use(ctx, [32]byte{1}, now); err != nil || !r.UsedAt.IsZero() || r.FamilyHead != 0 {
		t.Fatalf("first use of the newest generation: %+v, %v", r, err)
	}
	for i := range 3 {
		r, err := s.Use(ctx, [32]byte{2}, now.Add(time.Duration(i)*time.Second))
		if err != nil || !r.UsedAt.IsZero() || r.Reuses != 0 || r.FamilyHead != 1 {
			t.Fatalf("use %d of the stale sibling: %+v, %v; want unused, head 1", i, r, err)
		}
	}
}
