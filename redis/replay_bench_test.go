package jwtguardredis_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	jwtguardredis "github.com/jwtguard/jwtguard/redis"
	"github.com/jwtguard/jwtguard/redis/redistest"
	"github.com/redis/go-redis/v9"
)

// BenchmarkReplayStoreUse: one new proof per Use (a 43-character key, as
// the guard passes), in memory and on Redis over loopback: with a client
// that honours context deadlines itself (one round trip) and with a
// default client (the round trip in a goroutine, so the timeout holds),
// one caller at a time and GOMAXPROCS×4 at once. Proofs expire 10 ms
// ahead, so the memory store runs full, evicting expired entries, as it
// does under steady load.
func BenchmarkReplayStoreUse(b *testing.B) {
	srv := redistest.Start(b)
	fast := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	b.Cleanup(func() { _ = fast.Close() })
	stores := []struct {
		name  string
		store jwtguard.ReplayStore
	}{{"memory", jwtguard.NewMemoryReplayStore(1 << 18)}}
	for _, c := range []struct {
		name string
		rdb  redis.UniversalClient
	}{{"redis-ContextTimeoutEnabled", fast}, {"redis-default-client", srv.Client()}} {
		s, err := jwtguardredis.NewReplayStore(c.rdb)
		if err != nil {
			b.Fatal(err)
		}
		stores = append(stores, struct {
			name  string
			store jwtguard.ReplayStore
		}{c.name, s})
	}
	const base = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG" // 43 characters
	key := func(i uint64) string { s := strconv.FormatUint(i, 36); return base[len(s):] + s }
	var n atomic.Uint64
	for _, s := range stores {
		b.Run(s.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if fresh, err := s.store.Use(ctx, key(n.Add(1)), time.Now().Add(10*time.Millisecond)); err != nil || !fresh {
					b.Fatal(fresh, err)
				}
			}
		})
		b.Run(s.name+"-parallel", func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if fresh, err := s.store.Use(ctx, key(n.Add(1)), time.Now().Add(10*time.Millisecond)); err != nil || !fresh {
						b.Error(fresh, err)
						return
					}
				}
			})
		})
	}
}
