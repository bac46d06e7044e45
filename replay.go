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

// errReplayClientFull refuses a client that holds its share of a shard.
var errReplayClientFull = errors.New("jwtguard: DPoP replay store: this proof key holds its share of the store (too many proofs within the window)")

// MemoryReplayStore is the default [ReplayStore]: in memory, for one
// process, sharded, with a fixed number of entries. It never forgets a
// proof before it expires: when a shard is full of live proofs it refuses
// (fail closed, [ErrReplayCheckUnavailable]). So that one client cannot
// fill it, a client (the key's first 11 characters: one proof key) may
// hold at most an eighth of each shard; past that its own proofs are
// refused. Filling the store takes eight clients each at its limit:
// a bounded store in memory can be exhausted by enough colluding keys,
// each of which needs a token bound to it. Safe for concurrent use.
type MemoryReplayStore struct {
	shards [replayShards]replayShard
	seed   maphash.Seed // random per store: shards clients cannot predict
	now    func() time.Time
}

const replayShards = 32

type replayShard struct {
	mu      sync.Mutex
	seen    map[string]int64 // key → expiry, Unix nanoseconds
	clients map[string]int   // client → its entries in queue
	queue   []replayEntry    // queue[head:] in insertion order; grows to max entries
	head    int
	max     int
}

type replayEntry struct {
	key string
	exp int64
}

// NewMemoryReplayStore returns a store holding at most entries proofs
// (rounded up to a multiple of 32; at least 1024), about 120 bytes each
// when full; memory grows with use. Entries leave when they expire, never
// before. A full store refuses proofs ([ErrReplayCheckUnavailable]), and
// so does a key holding its share (an eighth): size it for the proofs one
// proof window brings (requests per second × the window's past), and for
// eight times the busiest client's.
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
	// A seeded hash of the whole key: a client's proofs spread over every
	// shard, and a client that picks its jti values cannot aim them all at
	// one shard.
	client := replayClient(key)
	sh := &s.shards[maphash.String(s.seed, key)%replayShards]
	now := s.now().UnixNano()
	exp := expires.UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.seen[key]; ok && e > now {
		return false, nil
	}
	sh.dropExpired(now)
	if len(sh.queue)-sh.head >= sh.max { // full of live proofs
		return false, errReplayStoreFull
	}
	if sh.clients[client] >= sh.perClient() {
		return false, errReplayClientFull
	}
	sh.queue = append(sh.queue, replayEntry{key, exp})
	sh.seen[key] = exp
	sh.clients[client]++
	return true, nil
}

// dropExpired forgets expired entries from the oldest end. Expiry follows
// insertion order within a proof window's spread (iat varies), so an entry
// may outlive its expiry behind a younger one by at most that spread.
func (sh *replayShard) dropExpired(now int64) {
	for sh.head < len(sh.queue) && sh.queue[sh.head].exp <= now {
		sh.forget(sh.queue[sh.head])
		sh.queue[sh.head] = replayEntry{}
		sh.head++
	}
	switch {
	case sh.head == len(sh.queue):
		sh.queue, sh.head = sh.queue[:0], 0
	case sh.head >= 1024 && 2*sh.head >= len(sh.queue): // reclaim the dropped front
		n := copy(sh.queue, sh.queue[sh.head:])
		clear(sh.queue[n:])
		sh.queue, sh.head = sh.queue[:n], 0
	}
}

// perClient is how many live proofs one client may hold in the shard.
func (sh *replayShard) perClient() int { return max(1, sh.max/8) }

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
