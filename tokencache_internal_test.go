package jwtguard

import (
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
	c.put(key, "token-a", true, claims, p, p.keys.epoch())
	if got, ok := c.get(key, "token-a", now); !ok || got != claims {
		t.Fatalf("get(token-a) = %v, %v; want its claims", got, ok)
	}
	// Another token that lands on token-a's hash (forced here; with a
	// random seed an attacker cannot aim for one) must miss.
	if got, ok := c.get(key, "token-b", now); ok {
		t.Fatalf("get(token-b) under token-a's hash = %v; want a miss", got)
	}
}

// TestCacheDoesNotPinLargerStrings: a token sliced out of a larger string
// (a Cookie header, a caller's buffer) is copied before the cache keeps it.
func TestCacheDoesNotPinLargerStrings(t *testing.T) {
	t.Parallel()
	now := time.Now()
	p := &anchor{keys: staticKeys{}}
	c := newVerifiedCache(64)
	claims := &Claims{}
	claims.jc.ExpiresAt = now.Add(time.Hour)
	header := "session=x; at=token-a; " + strings.Repeat("p", 1<<20)
	token := header[len("session=x; at=") : len("session=x; at=")+len("token-a")]
	for _, standalone := range []bool{false, true} {
		key := c.key(token)
		c.put(key, token, standalone, claims, p, p.keys.epoch())
		kept := c.shard(key).m[key].token
		shared := unsafe.StringData(kept) == unsafe.StringData(token)
		if shared == !standalone {
			t.Errorf("standalone=%v: cache kept the caller's memory: %v", standalone, shared)
		}
	}
}
