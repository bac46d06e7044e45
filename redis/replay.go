package jwtguardredis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/redis/go-redis/v9"
)

// ReplayStore is a jwtguard.ReplayStore on Redis: a DPoP proof used on one
// instance of a fleet is refused as a replay on every other. Pass one to
// each guard with jwtguard.WithDPoPReplayStore.
//
// Each Use is one round trip, SET key value NX GET PXAT expiry: atomic, so
// of any number of instances racing on one proof exactly one sees it first.
// The key is the SHA-256 of the key the guard passes (which the client
// chose, through the proof's jti), under the key prefix ([WithKeyPrefix]):
// short, of fixed length, and a single key per command, so it works on any
// Redis Cluster. Each write carries a value no other Use writes, so a
// command the client retries after a lost reply recognises its own write
// instead of reporting a replay. Needs Redis 7.0 or later (NX with GET).
//
// Keys expire at the proof's expiry plus the allowed clock skew
// ([WithClockSkew], 5 s), by Redis's clock. An expiry that, skew
// included, has already passed by the store's clock ([WithClock]) is
// answered false (refused) without asking Redis: no instance may still
// accept that proof. When Redis cannot answer within the timeout
// ([WithTimeout], 500 ms), Use returns an error and the guard refuses with
// 503 (jwtguard.ErrReplayCheckUnavailable): fail closed, never "first
// use".
//
// Configure Redis with maxmemory-policy noeviction: an evicted key is a
// proof that can be replayed. Safe for concurrent use.
type ReplayStore struct {
	rdb     redis.UniversalClient
	keys    keys
	now     func() time.Time
	log     *slog.Logger
	timeout time.Duration
	skew    time.Duration
	direct  bool // the client gives up at the context's deadline by itself

	id      [8]byte       // random per store; with seq, the value each Use writes
	seq     atomic.Uint64 // the Use count
	failing atomic.Bool   // the last answer was an error (for logging changes only)
}

var _ jwtguard.ReplayStore = (*ReplayStore)(nil)

// NewReplayStore returns a ReplayStore on rdb, which the caller keeps and
// closes. The timeout ([WithTimeout]) holds with any client: when the
// client would not give up at a context's deadline by itself (a
// *redis.Client, *redis.ClusterClient or *redis.Ring without
// ContextTimeoutEnabled, or a client of another type), each Use waits
// for it in a goroutine and returns at the deadline, leaving the command
// to the client's own timeouts. Set ContextTimeoutEnabled to save that
// goroutine.
func NewReplayStore(rdb redis.UniversalClient, opts ...ReplayStoreOption) (*ReplayStore, error) {
	c := replayConfig{common: defaultCommon(), timeout: 500 * time.Millisecond, skew: 5 * time.Second}
	for _, o := range opts {
		if err := o.applyReplay(&c); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil Redis client", ErrConfig)
	}
	s := &ReplayStore{rdb: rdb, keys: keys{c.prefix}, now: c.now, log: c.log, timeout: c.timeout, skew: c.skew,
		direct: honoursContext(rdb)}
	_, _ = rand.Read(s.id[:])
	return s, nil
}

// honoursContext reports whether rdb stops waiting at a context's
// deadline (go-redis ignores it for reads and writes unless told).
func honoursContext(rdb redis.UniversalClient) bool {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

// Use implements jwtguard.ReplayStore: it records key until expires (plus
// the clock skew) and reports whether no instance had recorded it before.
func (s *ReplayStore) Use(ctx context.Context, key string, expires time.Time) (bool, error) {
	at := expires.Add(s.skew)
	if !at.After(s.now()) {
		return false, nil
	}
	ms := (at.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond) // rounded up
	var v [16]byte
	copy(v[:8], s.id[:])
	binary.BigEndian.PutUint64(v[8:], s.seq.Add(1))
	val := string(v[:])
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	old, err := s.set(ctx, s.keys.dpop(sha256.Sum256([]byte(key))), val, ms)
	if err != nil && !errors.Is(err, redis.Nil) {
		if !s.failing.Swap(true) {
			s.log.LogAttrs(ctx, slog.LevelWarn, "jwtguardredis: DPoP replay check failed", slog.String("error", err.Error()))
		}
		return false, fmt.Errorf("jwtguardredis: DPoP replay check: %w", err)
	}
	if s.failing.Load() && s.failing.CompareAndSwap(true, false) {
		s.log.LogAttrs(ctx, slog.LevelInfo, "jwtguardredis: DPoP replay check recovered")
	}
	if err != nil { // redis.Nil: there was no value; ours is set
		return true, nil
	}
	return old == val, nil // our own value: the client retried our command after its first write
}

// set runs SET key val NX GET PXAT ms and returns the key's old value
// (redis.Nil: none), giving up at ctx's deadline whatever the client does.
func (s *ReplayStore) set(ctx context.Context, key, val string, ms int64) (string, error) {
	if s.direct {
		return s.rdb.Do(ctx, "set", key, val, "nx", "get", "pxat", ms).Text()
	}
	type result struct {
		old string
		err error
	}
	done := make(chan result, 1)
	go func() {
		old, err := s.rdb.Do(ctx, "set", key, val, "nx", "get", "pxat", ms).Text()
		done <- result{old, err}
	}()
	select {
	case r := <-done:
		return r.old, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
