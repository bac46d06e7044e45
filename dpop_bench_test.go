package jwtguard_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// BenchmarkDPoPHitPath measures what DPoP adds to a request whose access
// token hits the verified-token cache: the proof is new on every request
// (parsed, its jwk read and thumbprinted, its signature verified, its jti
// stored in the default replay store). "bearer" is the same cached token
// sent as Bearer. Proofs are signed before the timer starts, so the loop
// counts b.N (b.Loop cannot say how many proofs to sign ahead).
func BenchmarkDPoPHitPath(b *testing.B) {
	iss := jwtguardtest.NewIssuer(b, "ES256")
	g, err := jwtguard.New(b.Context(), jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience(audience),
		jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithDPoP(jwtguard.DPoPOptional))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("bearer", func(b *testing.B) {
		token := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience})
		r := bearerAt(apiURL, token)
		if _, err := g.Authenticate(r); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.Authenticate(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	// floor: the proof's signature check alone, with the standard library.
	b.Run("floor-ES256", func(b *testing.B) {
		digest := sha256.Sum256([]byte("header.payload"))
		sig, _ := ecdsa.SignASN1(rand.Reader, ec, digest[:])
		b.ReportAllocs()
		for b.Loop() {
			if !ecdsa.VerifyASN1(&ec.PublicKey, digest[:], sig) {
				b.Fatal("verify")
			}
		}
	})
	for _, k := range []struct {
		alg  string
		priv crypto.Signer
	}{{"ES256", ec}, {"EdDSA", ed}} {
		b.Run("dpop-"+k.alg, func(b *testing.B) {
			// A guard per run, with a store sized for one client sending
			// every proof of the run (a key may hold an eighth of a store).
			g, err := jwtguard.New(b.Context(), jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience(audience),
				jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithDPoP(jwtguard.DPoPOptional),
				jwtguard.WithDPoPReplayStore(jwtguard.NewMemoryReplayStore(max(1<<18, 16*b.N))))
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			c := clientFor(b, k.priv, k.alg)
			token := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience, "cnf": map[string]any{"jkt": c.jkt}})
			now := time.Now()
			warm := dpopRequest("GET", apiURL, token, c.proof(b, "GET", apiURL, token, now, nil, nil))
			if _, err := g.Authenticate(warm); err != nil { // the token is now cached
				b.Fatal(err)
			}
			reqs := make([]*http.Request, b.N)
			for i := range reqs {
				reqs[i] = dpopRequest("GET", apiURL, token, c.proof(b, "GET", apiURL, token, now, nil, map[string]any{"jti": itoa(int64(i)) + "-" + k.alg + now.String()}))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := g.Authenticate(reqs[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
