package jwtguardredis

import (
	"context"
	"strconv"
	"testing"
	"time"

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
