package jwtguard

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkCacheNeverSeen is the cache's share of a never-seen token's
// cost: the key, a lookup that misses, and an insertion that evicts the
// oldest of a full cache at its default size.
func BenchmarkCacheNeverSeen(b *testing.B) {
	now := time.Now()
	p := &anchor{keys: staticKeys{}}
	c := newVerifiedCache(defaultCacheEntries)
	pad := strings.Repeat("x", 640)
	tokens := make([]string, 4*defaultCacheEntries)
	claims := make([]*claimsWithEntry, len(tokens)) // as parseClaimsToCache allocates them
	for i := range tokens {
		tokens[i] = fmt.Sprintf("%s.%d", pad, i)
		claims[i] = new(claimsWithEntry)
		claims[i].jc.ExpiresAt = now.Add(time.Hour)
	}
	i := 0
	for b.Loop() {
		t := tokens[i%len(tokens)]
		key := c.key(t)
		if _, ok := c.get(key, t, now); !ok {
			c.put(key, t, &claims[i%len(tokens)].Claims, &claims[i%len(tokens)].entry, p, 0)
		}
		i++
	}
}
