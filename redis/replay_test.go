package jwtguardredis_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	jwtguardredis "github.com/jwtguard/jwtguard/redis"
	"github.com/jwtguard/jwtguard/redis/redistest"
	"github.com/redis/go-redis/v9"
)

// dpopAPI is the protected resource the proofs are made for.
const dpopAPI = "http://api.example/orders"

// dpopFleet is an issuer, a client with a token bound to its key, and
// guards that require DPoP.
type dpopFleet struct {
	iss    *jwtguardtest.Issuer
	client *jwtguardtest.DPoPKey
	token  string
}

func newDPoPFleet(t testing.TB) *dpopFleet {
	t.Helper()
	f := &dpopFleet{iss: jwtguardtest.NewIssuer(t, "ES256"), client: jwtguardtest.NewDPoPKey(t)}
	f.token = f.iss.Sign(jwtguardtest.Claims{"aud": "api", "sub": "alice", "cnf": map[string]any{"jkt": f.client.Thumbprint()}})
	return f
}

// guard is one instance: its own Redis client and ReplayStore.
func (f *dpopFleet) guard(t testing.TB, rdb redis.UniversalClient) *jwtguard.Guard {
	t.Helper()
	store, err := jwtguardredis.NewReplayStore(rdb)
	if err != nil {
		t.Fatal(err)
	}
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKSet(f.iss.JWKS()), jwtguard.WithIssuer(f.iss.URL),
		jwtguard.WithAudience("api"), jwtguard.WithDPoP(jwtguard.DPoPRequired), jwtguard.WithDPoPReplayStore(store))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

// call sends GET dpopAPI with the fleet's token and proof through g's
// handler and returns the response.
func (f *dpopFleet) call(g *jwtguard.Guard, proof string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", dpopAPI, nil)
	r.Header.Set("Authorization", "DPoP "+f.token)
	r.Header.Set("DPoP", proof)
	w := httptest.NewRecorder()
	g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(w, r)
	return w
}

// TestReplayAcrossGuards: two instances, each with its own client and
// ReplayStore on one Redis. A proof used on A is refused on B (and on A)
// as a replay; a fresh proof passes on B. With Redis killed, a fresh proof
// is refused with 503 (ErrReplayCheckUnavailable), never let through.
func TestReplayAcrossGuards(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	f := newDPoPFleet(t)
	a, b := f.guard(t, srv.Client()), f.guard(t, srv.Client())
	p := f.client.Proof("GET", dpopAPI, f.token)
	if w := f.call(a, p); w.Code != 200 {
		t.Fatalf("first use on A: %d %s", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	for name, g := range map[string]*jwtguard.Guard{"A": a, "B": b} {
		w := f.call(g, p)
		if w.Code != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), "invalid_dpop_proof") {
			t.Fatalf("replay on %s: %d %q, want 401 invalid_dpop_proof", name, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	if w := f.call(b, f.client.Proof("GET", dpopAPI, f.token)); w.Code != 200 {
		t.Fatalf("fresh proof on B: %d", w.Code)
	}

	srv.Kill()
	if w := f.call(a, f.client.Proof("GET", dpopAPI, f.token)); w.Code != 503 {
		t.Fatalf("Redis killed: %d, want 503", w.Code)
	}
	r := httptest.NewRequest("GET", dpopAPI, nil)
	r.Header.Set("Authorization", "DPoP "+f.token)
	r.Header.Set("DPoP", f.client.Proof("GET", dpopAPI, f.token))
	if _, err := b.Authenticate(r); !errors.Is(err, jwtguard.ErrReplayCheckUnavailable) {
		t.Fatalf("Redis killed: %v, want ErrReplayCheckUnavailable", err)
	}
}

// TestReplayRace: one proof sent at once to two instances by many
// goroutines: exactly one request gets through.
func TestReplayRace(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	f := newDPoPFleet(t)
	guards := []*jwtguard.Guard{f.guard(t, srv.Client()), f.guard(t, srv.Client())}
	p := f.client.Proof("GET", dpopAPI, f.token)
	const n = 32
	var ok, replay atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			switch w := f.call(guards[i%2], p); w.Code {
			case 200:
				ok.Add(1)
			case 401:
				replay.Add(1)
			default:
				t.Errorf("status %d", w.Code)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != 1 || replay.Load() != n-1 {
		t.Fatalf("%d accepted, %d refused as replays; want 1 and %d", ok.Load(), replay.Load(), n-1)
	}
}

// TestReplayStoreUse: first use true, then false, from any store on the
// Redis; Redis holds only a short hash of the key, under the prefix,
// expiring at the proof's expiry plus the skew (by PEXPIRETIME, Redis's own
// record); an expiry already past is refused without a key.
func TestReplayStoreUse(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := t.Context()
	one, err := jwtguardredis.NewReplayStore(rdb)
	if err != nil {
		t.Fatal(err)
	}
	two, err := jwtguardredis.NewReplayStore(srv.Client(), jwtguardredis.WithClockSkew(0))
	if err != nil {
		t.Fatal(err)
	}
	key := "the-jti-" + strings.Repeat("x", 200) // attacker-chosen length
	exp := time.Now().Add(time.Minute)
	for i, tc := range []struct {
		s    *jwtguardredis.ReplayStore
		want bool
	}{{one, true}, {one, false}, {two, false}} {
		if fresh, err := tc.s.Use(ctx, key, exp); err != nil || fresh != tc.want {
			t.Fatalf("use %d: %v %v, want %v", i, fresh, err, tc.want)
		}
	}
	if fresh, err := two.Use(ctx, "another", exp); err != nil || !fresh {
		t.Fatalf("another key: %v %v", fresh, err)
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys %q, %v; want 2", keys, err)
	}
	ms := func(t time.Time) int64 { return (t.UnixNano() + 999_999) / 1_000_000 }
	want := map[string]int64{digestKey("jwtguard:", key): ms(exp.Add(5 * time.Second)), digestKey("jwtguard:", "another"): ms(exp)}
	for _, k := range keys {
		at, err := rdb.PExpireTime(ctx, k).Result()
		if err != nil || at.Milliseconds() != want[k] {
			t.Errorf("key %q expires at %v (%v), want %d ms", k, at.Milliseconds(), err, want[k])
		}
		if len(k) != len("jwtguard:dpop:")+43 || strings.Contains(k, "jti") {
			t.Errorf("key %q: want the prefix and a 43-character hash", k)
		}
	}
	// Past by the store's clock, the skew included: refused, nothing stored.
	if fresh, err := one.Use(ctx, "stale", time.Now().Add(-6*time.Second)); err != nil || fresh {
		t.Fatalf("expiry past: %v %v, want false", fresh, err)
	}
	if fresh, err := two.Use(ctx, "stale", time.Now().Add(-time.Millisecond)); err != nil || fresh {
		t.Fatalf("expiry past, no skew: %v %v, want false", fresh, err)
	}
	if n, _ := rdb.DBSize(ctx).Result(); n != 2 {
		t.Fatalf("%d keys after the stale proofs, want 2", n)
	}
}

// digestKey is the ReplayStore's key for key under prefix.
func digestKey(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + "dpop:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestReplayStoreExpiry: a key is gone once Redis's clock passes its
// expiry, and the proof then reads as new. No waiting: the store's clock
// runs an hour behind Redis's, so an expiry it takes for a minute ahead
// is 10 ms in the past for Redis (PXAT in the past).
func TestReplayStoreExpiry(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := t.Context()
	redisNow, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwtguardredis.NewReplayStore(rdb, jwtguardredis.WithClockSkew(time.Minute),
		jwtguardredis.WithClock(func() time.Time { return redisNow.Add(-time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	past := redisNow.Add(-time.Minute - 10*time.Millisecond) // + the skew: 10 ms before Redis's now (it expires a key only past its ms)
	for i := range 2 {
		if fresh, err := s.Use(ctx, "k", past); err != nil || !fresh {
			t.Fatalf("use %d of a key Redis expires at once: %v %v, want true", i, fresh, err)
		}
		if n, err := rdb.Exists(ctx, digestKey("jwtguard:", "k")).Result(); err != nil || n != 0 {
			t.Fatalf("expired key still in Redis: %d %v", n, err)
		}
	}
	live := redisNow.Add(time.Hour)
	if fresh, _ := s.Use(ctx, "k", live); !fresh {
		t.Fatal("a proof whose key expired is not new again")
	}
	if fresh, _ := s.Use(ctx, "k", live); fresh {
		t.Fatal("replay within the expiry reads as new")
	}
}

// TestReplayStoreRedisDown: Redis paused (connections open, nothing
// answered) or killed: Use returns an error within the timeout, with any
// client setting, never a first use; it logs the first failure and the
// recovery once each.
func TestReplayStoreRedisDown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	clients := map[string]*redis.Client{
		"default":               srv.Client(),
		"ContextTimeoutEnabled": redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true}),
	}
	t.Cleanup(func() { _ = clients["ContextTimeoutEnabled"].Close() })
	stores := map[string]*jwtguardredis.ReplayStore{}
	for name, c := range clients {
		s, err := jwtguardredis.NewReplayStore(c, jwtguardredis.WithTimeout(100*time.Millisecond), jwtguardredis.WithLogger(log))
		if err != nil {
			t.Fatal(err)
		}
		if fresh, err := s.Use(t.Context(), "warm-"+name, time.Now().Add(time.Minute)); err != nil || !fresh {
			t.Fatalf("%s before the pause: %v %v", name, fresh, err)
		}
		stores[name] = s
	}
	srv.Pause()
	t.Cleanup(srv.Resume)
	for name, s := range stores {
		for i := range 3 {
			start := time.Now()
			fresh, err := s.Use(t.Context(), name+strconv.Itoa(i), time.Now().Add(time.Minute))
			if err == nil || fresh {
				t.Fatalf("%s, Redis paused: %v %v, want an error", name, fresh, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("%s, Redis paused: answered after %v with a 100ms timeout", name, d)
			}
		}
	}
	srv.Resume()
	for name, s := range stores {
		// The default client may first see the answers it gave up on.
		eventually(t, 10*time.Second, name+" recovers", func() bool {
			_, err := s.Use(t.Context(), name+"-again-"+time.Now().String(), time.Now().Add(time.Minute))
			return err == nil
		})
	}
	srv.Kill()
	for name, s := range stores {
		if fresh, err := s.Use(t.Context(), name+"killed", time.Now().Add(time.Minute)); err == nil || fresh {
			t.Fatalf("%s, Redis killed: %v %v, want an error", name, fresh, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	out := logs.String()
	if w, r := strings.Count(out, "DPoP replay check failed"), strings.Count(out, "DPoP replay check recovered"); w != 4 || r != 2 {
		t.Fatalf("%d failure and %d recovery lines, want 4 and 2 (two stores, two outages, one recovery):\n%s", w, r, out)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestReplayStoreCluster: on a 3-master Redis Cluster every Use is one
// single-key command (no CROSSSLOT), replays are caught across two
// clients, and the keys spread over the masters.
func TestReplayStoreCluster(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3)
	one, err := jwtguardredis.NewReplayStore(cl.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	two, err := jwtguardredis.NewReplayStore(cl.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	for i := range 30 {
		k := "proof-" + strconv.Itoa(i)
		if fresh, err := one.Use(ctx, k, exp); err != nil || !fresh {
			t.Fatalf("%s on one: %v %v", k, fresh, err)
		}
		if fresh, err := two.Use(ctx, k, exp); err != nil || fresh {
			t.Fatalf("%s replayed on two: %v %v", k, fresh, err)
		}
	}
	var used int
	for _, addr := range cl.Addrs {
		n := redis.NewClient(&redis.Options{Addr: addr})
		if size, err := n.DBSize(ctx).Result(); err == nil && size > 0 {
			used++
		}
		n.Close()
	}
	if used < 2 {
		t.Fatalf("keys on %d of %d masters: the test does not exercise slots", used, len(cl.Addrs))
	}
}

// TestReplayStoreConfig: options out of range and a nil client are
// configuration errors.
func TestReplayStoreConfig(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	for name, opts := range map[string][]jwtguardredis.ReplayStoreOption{
		"timeout 0":        {jwtguardredis.WithTimeout(0)},
		"timeout 1m":       {jwtguardredis.WithTimeout(time.Minute)},
		"negative skew":    {jwtguardredis.WithClockSkew(-time.Second)},
		"skew 2m":          {jwtguardredis.WithClockSkew(2 * time.Minute)},
		"hash-tag prefix":  {jwtguardredis.WithKeyPrefix("{app}:")},
		"nil clock":        {jwtguardredis.WithClock(nil)},
		"nil logger":       {jwtguardredis.WithLogger(nil)},
		"timeout and skew": {jwtguardredis.WithTimeout(time.Second), jwtguardredis.WithClockSkew(time.Hour)},
	} {
		if _, err := jwtguardredis.NewReplayStore(rdb, opts...); !errors.Is(err, jwtguardredis.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	if _, err := jwtguardredis.NewReplayStore(nil); !errors.Is(err, jwtguardredis.ErrConfig) {
		t.Errorf("nil client: %v, want ErrConfig", err)
	}
}

// TestReplayStorePrefix: the key prefix option applies.
func TestReplayStorePrefix(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := srv.Client()
	s, err := jwtguardredis.NewReplayStore(rdb, jwtguardredis.WithKeyPrefix("app1:"))
	if err != nil {
		t.Fatal(err)
	}
	if fresh, err := s.Use(context.Background(), "k", time.Now().Add(time.Minute)); err != nil || !fresh {
		t.Fatal(fresh, err)
	}
	if n, err := rdb.Exists(t.Context(), digestKey("app1:", "k")).Result(); err != nil || n != 1 {
		t.Fatalf("key under the prefix: %d %v", n, err)
	}
}
