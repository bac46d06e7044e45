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
// (43 base64url characters: 11 derived from the proof key's thumbprint,
// which name the client, then 32 from the thumbprint and the proof's jti)
// and the time until which the proof could still be accepted; only proofs
// that passed every other check reach the store.
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
// of proofs that have not expired, a client (the key's first 11
// characters) holding half of it or more is refused (fail closed), and
// another client's proof takes the place of one of that client's: a client
// flooding the store crowds out only itself, and only its own proofs are
// forgotten early. Safe for concurrent use.
type MemoryReplayStore struct {
	shards [replayShards]replayShard
	seed   maphash.Seed // random per store: shards clients cannot predict
	now    func() time.Time
}

const replayShards = 32

type replayShard struct {
	mu      sync.Mutex
	seen    map[string]int64 // key → expiry, Unix nanoseconds
	clients map[string]int   // client → entries in ring
	ring    []replayEntry    // insertion order, for eviction; grows to max
	max     int
	head    int // the oldest entry, once the ring is full
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
		s.shards[i].clients = make(map[string]int)
		s.shards[i].max = per
	}
	return s
}

// Use implements [ReplayStore].
func (s *MemoryReplayStore) Use(_ context.Context, key string, expires time.Time) (bool, error) {
	// A seeded hash of the whole key: every shard is used (the store's
	// whole size serves a busy client), and a client that picks its jti
	// values cannot aim them all at one shard.
	client := replayClient(key)
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
		sh.clients[client]++
		return true, nil
	}
	slot := sh.head
	if sh.ring[slot].exp > now { // full of live proofs
		if sh.clients[client] >= sh.max/2 {
			return false, errReplayStoreFull
		}
		var ok bool
		if slot, ok = sh.hogSlot(); !ok {
			return false, errReplayStoreFull
		}
	} else {
		sh.head = (sh.head + 1) % len(sh.ring)
	}
	sh.forget(sh.ring[slot])
	sh.ring[slot] = replayEntry{key, exp}
	sh.seen[key] = exp
	sh.clients[client]++
	return true, nil
}

// hogSlot finds, near the oldest end, an entry of a client that holds half
// the shard or more. Such a client's entries are at least every other one
// on average, so a short look finds one.
func (sh *replayShard) hogSlot() (int, bool) {
	for i := range min(64, len(sh.ring)) {
		slot := (sh.head + i) % len(sh.ring)
		if sh.clients[replayClient(sh.ring[slot].key)] >= sh.max/2 {
			return slot, true
		}
	}
	return 0, false
}

func (sh *replayShard) forget(e replayEntry) {
	if sh.seen[e.key] == e.exp {
		delete(sh.seen, e.key)
	}
	c := replayClient(e.key)
	if sh.clients[c]--; sh.clients[c] <= 0 {
		delete(sh.clients, c)
	}
}

// replayClient is the part of a replay key that names the client (see
// [ReplayStore]); a key of another shape is its own client.
func replayClient(key string) string {
	if len(key) == replayKeyLen {
		return key[:replayClientLen]
	}
	return key
}
