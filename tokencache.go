package jwtguard

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Verified-token cache defaults. Clients reuse one access token for
// minutes, so caching a verification saves a signature check per request.
const (
	defaultCacheEntries  = 10_000
	cacheShards          = 32
	maxCachedTokenLength = 4 << 10
	maxCacheEntries      = 1 << 26 // 67 million: far past any heap, and the doorkeeper's size stays sane
	entryOverhead        = 256     // bytes per entry besides the token and its claims JSON, roughly
)

// verifiedCache maps a token to the claims it verified to. Entries are
// found by a seeded hash of the token and used only if they hold the very
// same token: a hash collision is a miss, never another token's claims. Only
// successes are cached; an entry is used only while the token's own time
// window holds, the key that verified it is still trusted, and its key
// source is usable. Validators run on every hit regardless.
type verifiedCache struct {
	seed       maphash.Seed
	seenOnce   []atomic.Uint64 // the doorkeeper: hashes of tokens verified once (see admit)
	shards     [cacheShards]cacheShard
	perShard   int
	bytesShard int
	onEvict    func(n int) // Observer.OnCacheEvict, or nil
}

// cacheShard holds entries by value in a map sized up front, and their
// insertion order in a fixed ring: a new token costs no allocation here
// beyond what the map already has.
type cacheShard struct {
	mu     sync.RWMutex
	m      map[uint64]*cacheEntry // entries are never changed once in the map
	ring   []ringSlot             // insertion order, for FIFO eviction: ring[head:head+n] (wrapping)
	head   int
	n      int
	bytes  int
	hits   atomic.Uint64 // per shard, so counting causes no contention
	misses atomic.Uint64
	_      [64]byte // keep shards on separate cache lines
}

// ringSlot holds an entry's size beside its key, so evicting the oldest
// costs one map operation (the delete), not a lookup as well.
type ringSlot struct {
	key  uint64
	size int32
}

// cacheEntry is allocated with its claims (claimsWithEntry), which keeps it
// small: claims and entry together fill a 512-byte size class.
type cacheEntry struct {
	token  string // compared in full on every hit
	claims *Claims
	// The token's window in whole Unix seconds, rounded inwards: from the
	// latest of nbf and iat minus leeway (rounded up) till exp plus leeway
	// (rounded down). A hit needs from <= now < till in whole seconds of
	// now (rounded down), so it never falls outside the exact window; a
	// fraction of a second at its edges goes to a full verification.
	from, till int64
	anchor     *anchor // whose keys verified it
	epoch      uint64
	size       int32
	slot       int32 // its index in the shard's ring
}

// within reports whether the whole second sec is inside the entry's window.
func (e *cacheEntry) within(sec int64) bool { return e.from <= sec && sec < e.till }

// newVerifiedCache returns nil (caching off) for entries <= 0.
func newVerifiedCache(entries int) *verifiedCache {
	if entries <= 0 {
		return nil
	}
	c := &verifiedCache{seed: maphash.MakeSeed(), perShard: max(1, entries/cacheShards)}
	c.seenOnce = make([]atomic.Uint64, doorkeeperSlots(entries))
	c.bytesShard = c.perShard * (entryOverhead + 2048)
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]*cacheEntry, c.perShard)
		c.shards[i].ring = make([]ringSlot, c.perShard)
	}
	return c
}

// cacheable reports whether token may be cached, and so whether its key is
// worth computing.
func (c *verifiedCache) cacheable(token string) bool {
	return c != nil && len(token) <= maxCachedTokenLength
}

// key returns the token's hash, which picks its shard and map slot. It
// hashes the last keyedBytes of the token only: a JWS's signature, which
// no one but the issuer can make for other claims, or a JWE's tag and
// ciphertext, so they tell verified tokens apart as well as the whole token
// would. (Anyone can re-wrap a JWE's key under RSA-OAEP: the copies share
// their tail and their claims, and replace each other in one slot.) A
// collision is a miss anyway: get compares the whole token. Hashing 64
// bytes, not the 700 of a usual RS256 token, is a tenth of a cache hit's
// cost.
func (c *verifiedCache) key(token string) uint64 {
	return maphash.String(c.seed, token[max(0, len(token)-keyedBytes):])
}

const keyedBytes = 64

func (c *verifiedCache) shard(key uint64) *cacheShard { return &c.shards[key>>(64-5)] } // 5 bits: 32 shards

func (c *verifiedCache) get(key uint64, token string, now time.Time) (*Claims, bool) {
	s := c.shard(key)
	s.mu.RLock()
	e, ok := s.m[key]
	s.mu.RUnlock()
	if !ok || e.token != token || !e.within(now.Unix()) || !e.anchor.current(e.epoch, now) {
		s.misses.Add(1)
		return nil, false
	}
	s.hits.Add(1)
	return e.claims, true
}

// doorkeeperSlots is a power of two, at least twice the cache's entries.
func doorkeeperSlots(entries int) int {
	n := 1024
	for n < 2*entries {
		n <<= 1
	}
	return n
}

// admit reports whether a token just verified may enter the cache: only
// on its second verification while the doorkeeper remembers its first
// (TinyLFU's doorkeeper). A token used once costs no insertion and keeps
// no memory; a reused token pays one more verification, which only an
// HMAC token is cheap enough to pay (see verify). A slot holds one hash:
// another token on the same slot makes it forget, which only delays an
// admission.
func (c *verifiedCache) admit(key uint64) bool {
	slot := &c.seenOnce[key&uint64(len(c.seenOnce)-1)]
	mark := key | 1 // never 0, the empty slot
	if slot.Load() == mark {
		return true
	}
	slot.Store(mark)
	return false
}

// put remembers claims for token, which must be standalone (a string of
// its own, not a slice of a larger one): an entry must never pin a
// request's larger buffers.
// room, when not nil, is the entry allocated with claims
// (parseClaimsToCache).
func (c *verifiedCache) put(key uint64, token string, claims *Claims, room *cacheEntry, p *anchor, epoch uint64) {
	till := claims.jc.ExpiresAt.Add(p.leeway)
	if p.maxAge > 0 { // WithMaxTokenAge ends a token's use earlier than exp
		till = minTime(till, claims.jc.IssuedAt.Add(p.maxAge+p.leeway))
	}
	var from time.Time
	for _, t := range [2]time.Time{claims.jc.NotBefore, claims.jc.IssuedAt} {
		if t.Add(-p.leeway).After(from) {
			from = t.Add(-p.leeway)
		}
	}
	e := room
	if e == nil {
		e = new(cacheEntry)
	}
	*e = cacheEntry{
		token:  token,
		claims: claims,
		from:   from.Unix(),
		till:   till.Unix(), // rounded down
		anchor: p,
		epoch:  epoch,
		size:   int32(entryOverhead + len(token) + len(claims.jc.Raw)), // a cached token is at most maxCachedTokenLength
	}
	if from.Nanosecond() > 0 {
		e.from++ // rounded up
	}
	s := c.shard(key)
	s.mu.Lock()
	evicted := s.n
	defer func() {
		evicted -= s.n
		s.mu.Unlock()
		if evicted > 0 && c.onEvict != nil {
			c.onEvict(evicted)
		}
	}()
	if old, ok := s.m[key]; ok {
		s.bytes -= int(old.size)
		e.slot = old.slot
		s.ring[e.slot].size = e.size
	} else {
		evicted++ // s.n grows by the new entry
		if s.n == len(s.ring) {
			s.evictOldestLocked()
		}
		e.slot = int32((s.head + s.n) % len(s.ring))
		s.ring[e.slot] = ringSlot{key: key, size: e.size}
		s.n++
	}
	s.m[key] = e
	s.bytes += int(e.size)
	for s.bytes > c.bytesShard && s.n > 1 {
		s.evictOldestLocked()
	}
}

func (s *cacheShard) evictOldestLocked() {
	oldest := s.ring[s.head]
	s.head = (s.head + 1) % len(s.ring)
	s.n--
	s.bytes -= int(oldest.size)
	delete(s.m, oldest.key)
}

func (c *verifiedCache) stats() (hits, misses uint64, entries int) {
	if c == nil {
		return 0, 0, 0
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		entries += len(s.m)
		s.mu.RUnlock()
		hits += s.hits.Load()
		misses += s.misses.Load()
	}
	return hits, misses, entries
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
