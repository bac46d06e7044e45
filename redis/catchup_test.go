package jwtguardredis

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/redis/redistest"
)

// TestCatchUp: revocations whose push a mirror missed (published here to
// a channel nobody hears) are replayed from the log at the next poll; when
// the log was trimmed past the mirror's cursor, the mirror reloads the set
// instead. Either way it ends with every entry.
func TestCatchUp(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := t.Context()
	for _, tc := range []struct {
		name     string
		n        int
		wantLoad bool
	}{
		{"replayed from the log", 50, false},
		{"log trimmed: reloaded", 1000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := "catchup" + strconv.Itoa(tc.n) + ":"
			m, err := NewMirror(ctx, rdb, WithKeyPrefix(prefix), WithLogLength(100),
				WithFreshness(time.Second), WithPollInterval(50*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			wait, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := m.WaitReady(wait); err != nil {
				t.Fatal(err)
			}
			loads := m.Status().FullLoads
			until := time.Now().Add(time.Hour).UnixMilli()
			for i := range tc.n {
				e := entry{kind: 't', iss: "i", id: "j" + strconv.Itoa(i)}
				err := revocationScript.Run(ctx, rdb, m.revocationKeys(), e.member(), until, time.Now().UnixMilli(),
					100, prefix+"unheard", newEpoch()).Err()
				if err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for m.Status().Seq != uint64(tc.n) || m.Status().Entries != tc.n {
				if time.Now().After(deadline) {
					t.Fatalf("not caught up: %+v", m.Status())
				}
				time.Sleep(5 * time.Millisecond) // polling for the sync loop
			}
			if reloaded := m.Status().FullLoads > loads; reloaded != tc.wantLoad {
				t.Fatalf("reloaded the set: %v, want %v", reloaded, tc.wantLoad)
			}
			if n, _ := rdb.XLen(ctx, prefix+"{revocations}:log").Result(); tc.wantLoad && n >= int64(tc.n) {
				t.Fatalf("log of %d entries not trimmed", n)
			}
		})
	}
}

// TestNumbersGoBack: Redis keeps its epoch but lost its last revocations
// (a restart that replays an append-only file missing its last second, a
// failover to a replica that lagged): the mirror reloads, takes the lower
// number as its cursor, and applies the revocations numbered again from it.
func TestNumbersGoBack(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := t.Context()
	opts := []MirrorOption{WithFreshness(time.Second), WithPollInterval(50 * time.Millisecond)}
	a, err := NewMirror(ctx, rdb, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewMirror(ctx, rdb, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.WaitReady(wait); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitReady(wait); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	for i := range 5 {
		if err := a.RevokeToken(ctx, "i", "j"+strconv.Itoa(i), until); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return b.Status().Seq == 5 })
	// Redis forgets revocations 4 and 5.
	keys := a.revocationKeys()
	if err := rdb.Set(ctx, keys[2], 3, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Del(ctx, keys[1]).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return b.Status().Seq >= 3 && b.Status().FullLoads > 1 })
	if err := a.RevokeToken(ctx, "i", "new", until); err != nil {
		t.Fatal(err)
	}
	c := claimsWithJTI(t, "new")
	waitFor(t, func() bool { return b.Revoked(c) != nil && b.Status().Seq == 4 })
}

func waitFor(t *testing.T, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(5 * time.Millisecond) // polling for the sync loop
	}
}

func claimsWithJTI(t *testing.T, jti string) *jwtguard.Claims {
	t.Helper()
	c, err := jwtguard.ClaimsFromJSON([]byte(`{"iss":"i","sub":"s","jti":"` + jti + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
