package jwtguard

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"
)

// A ReplayStore remembers DPoP proof identifiers so that each proof is
// used once (RFC 9449 §11.1). The guard calls Use with a fixed-length key
// (43 base64url characters, derived from the proof key's thumbprint and
// the proof's jti) and the time until which the proof could still be
// accepted; only proofs that passed every other check reach the store.
//
// Use records key until expires and reports whether it was new. An error
// means the store cannot tell: the request is refused (503,
// [ErrReplayCheckUnavailable]), never let through. Implementations must
// be safe for concurrent use. A store shared by a fleet (Redis: SET key 1
// NX PXAT expires) makes a proof single-use across every server.
type ReplayStore interface {
	Use(ctx context.Context, key string, expires time.Time) (fresh bool, err error)
}

// errReplayStoreFull is the memory store's refusal when every slot of a
// shard holds a proof that has not yet expired.
var errReplayStoreFull = errors.New("jwtguard: DPoP replay store full")

// MemoryReplayStore is the default [ReplayStore]: in memory, for one
// process, sharded, with a fixed number of entries. When a shard is full
// of proofs that have not expired it refuses (fail closed) rather than
// forget one. Safe for concurrent use.
type MemoryReplayStore struct {
	shards [replayShards]replayShard
	seed   maphash.Seed // random per store: shards clients cannot predict
	now    func() time.Time
}

const replayShards = 32

type replayShard struct {
	mu   sync.Mutex
	seen map[string]int64 // key → expiry, Unix nanoseconds
	ring []replayEntry    // insertion order, for eviction; grows to max
	max  int
	head int // the oldest entry, once the ring is full
}

type replayEntry struct {
	key string
	exp int64
}

// NewMemoryReplayStore returns a store holding at most entries proofs
// (rounded up to a multiple of 32; at least 1024), about 120 bytes each
// when full; memory grows with use. Entries leave when they expire or,
// oldest first, when room is needed. A full store refuses proofs
// ([ErrReplayCheckUnavailable]): size it for the proofs one proof window
// brings (requests per second × the window's past).
func NewMemoryReplayStore(entries int) *MemoryReplayStore {
	return newMemoryReplayStore(entries, time.Now)
}

func newMemoryReplayStore(entries int, now func() time.Time) *MemoryReplayStore {
	per := max(entries, 1024) / replayShards
	if per*replayShards < max(entries, 1024) {
		per++
	}
	s := &MemoryReplayStore{now: now, seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].seen = make(map[string]int64)
		s.shards[i].max = per
	}
	return s
}

// Use implements [ReplayStore].
func (s *MemoryReplayStore) Use(_ context.Context, key string, expires time.Time) (bool, error) {
	// A seeded hash of the whole key: every shard is used, and a client
	// that picks its jti values cannot aim them all at one shard.
	sh := &s.shards[maphash.String(s.seed, key)%replayShards]
	now := s.now().UnixNano()
	exp := expires.UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.seen[key]; ok && e > now {
		return false, nil
	}
	if len(sh.ring) < sh.max {
		sh.ring = append(sh.ring, replayEntry{key, exp})
		sh.seen[key] = exp
		return true, nil
	}
	old := &sh.ring[sh.head]
	if old.exp > now {
		return false, errReplayStoreFull
	}
	if sh.seen[old.key] == old.exp {
		delete(sh.seen, old.key)
	}
	*old = replayEntry{key, exp}
	sh.seen[key] = exp
	sh.head = (sh.head + 1) % len(sh.ring)
	return true, nil
}
