package jwtguard

import (
	"testing"
	"time"
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
	c.put(key, "token-a", claims, p, p.keys.epoch())
	if got, ok := c.get(key, "token-a", now); !ok || got != claims {
		t.Fatalf("get(token-a) = %v, %v; want its claims", got, ok)
	}
	// Another token that lands on token-a's hash (forced here; with a
	// random seed an attacker cannot aim for one) must miss.
	if got, ok := c.get(key, "token-b", now); ok {
		t.Fatalf("get(token-b) under token-a's hash = %v; want a miss", got)
	}
}
