package jwtguard

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestCacheHashCollisionIsAMiss: entries are found by a 64-bit hash, but
// only the very same token gets an entry's claims.
func TestCacheHashCollisionIsAMiss(t *testing.T) {
	t.Parallel()
	now := time.Now()
	p := &anchor{keys: staticKeys{}}
	c := newVerifiedCache(64)
	claims := &Claims{}
	claims.jc.ExpiresAt = now.Add(time.Hour)
	key := c.key("token-a")
	c.put(key, "token-a", claims, nil, p, p.keys.epoch())
	if got, ok := c.get(key, "token-a", now); !ok || got != claims {
		t.Fatalf("get(token-a) = %v, %v; want its claims", got, ok)
	}
	// Another token that lands on token-a's hash (forced here; with a
	// random seed an attacker cannot aim for one) must miss.
	if got, ok := c.get(key, "token-b", now); ok {
		t.Fatalf("get(token-b) under token-a's hash = %v; want a miss", got)
	}
	// The key hashes a token's last keyedBytes (its signature): a forgery
	// that keeps a cached token's signature and changes its payload shares
	// its key, and must miss too.
	sig := strings.Repeat("s", keyedBytes)
	valid, forged := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0."+sig, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiIn0."+sig
	if c.key(valid) != c.key(forged) {
		t.Fatal("tokens with the same last 64 bytes hash apart; the test no longer tests a shared key")
	}
	c.put(c.key(valid), valid, claims, nil, p, p.keys.epoch())
	if got, ok := c.get(c.key(forged), forged, now); ok {
		t.Fatalf("a forgery sharing a cached token's signature got its claims %v", got)
	}
}

// TestCacheShardBookkeeping puts new tokens, replacements of the same
// token and hash collisions of other sizes into a small cache, and checks
// after each put that every shard's ring, map and byte count agree: the
// ring holds each cached key once, at the slot its entry names, with the
// entry's size, and the bytes are the sum of the sizes.
func TestCacheShardBookkeeping(t *testing.T) {
	t.Parallel()
	now := time.Now()
	p := &anchor{keys: staticKeys{}}
	c := newVerifiedCache(cacheShards * 4)
	c.bytesShard = 4 * (entryOverhead + 64) // small, so byte-driven eviction happens too
	var keys []uint64
	for i := range 2000 {
		claims := &Claims{}
		claims.jc.ExpiresAt = now.Add(time.Hour)
		claims.jc.Raw = make([]byte, i%97)
		token := fmt.Sprintf("token-%d", i)
		key := c.key(token)
		switch {
		case i%7 == 3 && len(keys) > 0: // the same key again: a re-verified token, or a collision with another size
			key = keys[i%len(keys)]
		default:
			keys = append(keys, key)
		}
		c.put(key, token, claims, nil, p, 0)
		for si := range c.shards {
			s := &c.shards[si]
			if s.n != len(s.m) {
				t.Fatalf("put %d: shard %d: ring holds %d keys, map %d", i, si, s.n, len(s.m))
			}
			bytes := 0
			for j := range s.n {
				slot := (s.head + j) % len(s.ring)
				r := s.ring[slot]
				e, ok := s.m[r.key]
				if !ok || int(e.slot) != slot || e.size != r.size {
					t.Fatalf("put %d: shard %d: ring slot %d = %+v, map entry %v (slot %d, size %d)", i, si, slot, r, ok, e.slot, e.size)
				}
				bytes += int(e.size)
			}
			if bytes != s.bytes {
				t.Fatalf("put %d: shard %d: bytes %d, entries sum to %d", i, si, s.bytes, bytes)
			}
		}
	}
}

// TestClaimsWithEntryFitsItsSizeClass: claims and their cache entry are
// one allocation of a never-seen token; at 512 bytes it is the 512-byte
// size class with no malloc header, past it the 640-byte one. A field
// added to Claims or cacheEntry must take one from elsewhere.
func TestClaimsWithEntryFitsItsSizeClass(t *testing.T) {
	t.Parallel()
	if size := unsafe.Sizeof(claimsWithEntry{}); size > 512 {
		t.Fatalf("claimsWithEntry is %d bytes (Claims %d, cacheEntry %d), over 512", size, unsafe.Sizeof(Claims{}), unsafe.Sizeof(cacheEntry{}))
	}
}
