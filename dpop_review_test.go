package jwtguard_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// Finding A: a used proof is accepted again at the instant its window closes
// (now == iat + past): the iat check accepts now <= iat+past, the replay store
// treats an entry with exp <= now as expired.
func TestReview3ReplayAtWindowEdge(t *testing.T) {
	s := newDPoPSetup(t)
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired))
	iat := time.Unix(s.clock.Now().Unix(), 0)
	p := s.client.proof(t, "GET", apiURL, s.token, iat, nil, map[string]any{"jti": "edge-1"})
	if _, err := g.Authenticate(dpopRequest("GET", apiURL, s.token, p)); err != nil {
		t.Fatalf("first use: %v", err)
	}
	s.clock.Add(iat.Add(60 * time.Second).Sub(s.clock.Now())) // now == iat + 60 s exactly
	if _, err := g.Authenticate(dpopRequest("GET", apiURL, s.token, p)); err == nil {
		t.Fatal("the same proof (same jti) was accepted twice")
	}
}

// Finding B: a token bound with an RFC 7800 confirmation method other than
// jkt / x5t#S256 (here cnf.jwk) is accepted as a plain Bearer token.
func TestReview3CnfJWKDowngrade(t *testing.T) {
	s := newDPoPSetup(t)
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPOptional))
	tok := s.iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "alice", "cnf": map[string]any{"jwk": s.client.jwk}})
	r := dpopRequest("GET", apiURL, tok)
	r.Header.Set("Authorization", "Bearer "+tok)
	if _, err := g.Authenticate(r); err == nil {
		t.Fatal("a key-bound token (cnf.jwk) was accepted as Bearer without any proof of possession")
	}
}

// Finding C: an authenticated DPoP client grinds jti values so that every
// replay-store key lands in one shard; 8192 requests (126/s over the 65 s an
// entry lives) fill it and every other client's proofs landing there get 503.
func TestReview3ReplayShardTargeting(t *testing.T) {
	s := newDPoPSetup(t)
	g := s.guard(t, jwtguard.WithDPoP(jwtguard.DPoPRequired))
	now := s.clock.Now()
	shardOf := func(jkt, jti string) uint32 {
		sum := sha256.Sum256([]byte(jkt + "\x00" + jti))
		k := base64.RawURLEncoding.EncodeToString(sum[:])
		return binary.LittleEndian.Uint32([]byte(k[len(k)-4:])) % 32
	}
	const per = (1 << 18) / 32
	sent := 0
	for i := 0; sent < per; i++ {
		jti := "a" + strconv.Itoa(i)
		if shardOf(s.client.jkt, jti) != 16 {
			continue
		}
		p := s.client.proof(t, "GET", apiURL, s.token, now.Add(5*time.Second), nil, map[string]any{"jti": jti})
		if _, err := g.Authenticate(dpopRequest("GET", apiURL, s.token, p)); err != nil {
			t.Fatalf("attacker request %d: %v", sent, err)
		}
		sent++
	}
	// A victim: another client with its own bound token.
	victim := newDPoPClient(t)
	vtok := s.iss.Sign(jwtguardtest.Claims{"aud": audience, "sub": "bob", "cnf": map[string]any{"jkt": victim.jkt}})
	s.clock.Add(30 * time.Second)
	for i := 0; ; i++ {
		jti := "v" + strconv.Itoa(i)
		if shardOf(victim.jkt, jti) != 16 {
			continue
		}
		p := victim.proof(t, "GET", apiURL, vtok, s.clock.Now(), nil, map[string]any{"jti": jti})
		_, err := g.Authenticate(dpopRequest("GET", apiURL, vtok, p))
		if errors.Is(err, jwtguard.ErrReplayCheckUnavailable) {
			t.Fatalf("victim's valid DPoP request refused after one client filled one shard with %d proofs: %v", per, err)
		}
		return
	}
}

var _ = http.MethodGet

// Finding D: the store shards on the low 5 bits of a base64url character, so
// shards 0, 27, 28, 29 and 30 are never used: a store of N entries holds only
// 27/32 of N, and the busiest shards get 3/64 of all keys instead of 1/32.
func TestReview3ReplayStoreCapacity(t *testing.T) {
	s := jwtguard.NewMemoryReplayStore(1024)
	exp := time.Now().Add(time.Hour)
	accepted := 0
	for i := range 200000 {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		if fresh, err := s.Use(t.Context(), base64.RawURLEncoding.EncodeToString(sum[:]), exp); err == nil && fresh {
			accepted++
		}
	}
	if accepted != 1024 {
		t.Fatalf("a store of 1024 entries holds %d distinct live proofs", accepted)
	}
}
