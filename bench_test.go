package jwtguard_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// BenchmarkVerify measures Guard.Verify on a cache hit and a cache miss
// against the raw crypto floor: base64 decoding, hashing and the signature
// check alone, with the standard library.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA", "HS256"} {
		b.Run(alg, func(b *testing.B) {
			iss := jwtguardtest.NewIssuer(b, alg)
			token := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience, "scope": "orders:read orders:write"})
			keyOpt := jwtguard.WithJWKS(iss.JWKSURL())
			if strings.HasPrefix(alg, "HS") {
				keyOpt = jwtguard.WithHMACSecret(iss.Secret())
			}
			newGuard := func(extra ...jwtguard.Option) *jwtguard.Guard {
				g, err := jwtguard.New(b.Context(), append([]jwtguard.Option{keyOpt, jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience(audience)}, extra...)...)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := g.Verify(b.Context(), token); err != nil {
					b.Fatal(err)
				}
				return g
			}
			b.Run("floor", func(b *testing.B) {
				verify := floorVerifier(b, alg, iss)
				b.ReportAllocs()
				for b.Loop() {
					if !verify(token) {
						b.Fatal("floor verify failed")
					}
				}
			})
			b.Run("miss", func(b *testing.B) {
				g := newGuard(jwtguard.WithVerifiedTokenCache(0))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := g.Verify(b.Context(), token); err != nil {
						b.Fatal(err)
					}
				}
			})
			// never-seen: a different token on every request, with the cache on
			// (its insertions and hashing are part of the cost).
			const distinct = 4096
			tokens := make([]string, distinct)
			for i := range tokens {
				tokens[i] = iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": audience, "scope": "orders:read orders:write", "jti": strconv.Itoa(i)})
			}
			b.Run("never-seen", func(b *testing.B) {
				g := newGuard()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if i == distinct { // every token once; then a fresh guard with an empty cache
						b.StopTimer()
						g, i = newGuard(), 0
						b.StartTimer()
					}
					if _, err := g.Verify(b.Context(), tokens[i]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("hit", func(b *testing.B) {
				g := newGuard()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := g.Verify(b.Context(), token); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// floorVerifier is the least work any verifier must do for alg.
func floorVerifier(b *testing.B, alg string, iss *jwtguardtest.Issuer) func(string) bool {
	dec := base64.RawURLEncoding
	split := func(token string) ([]byte, []byte) {
		i := strings.LastIndexByte(token, '.')
		sig, err := dec.DecodeString(token[i+1:])
		if err != nil {
			b.Fatal(err)
		}
		return []byte(token[:i]), sig
	}
	switch alg {
	case "RS256":
		pub := iss.PublicKey().(*rsa.PublicKey)
		return func(t string) bool {
			in, sig := split(t)
			h := sha256.Sum256(in)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
		}
	case "ES256":
		pub := iss.PublicKey().(*ecdsa.PublicKey)
		return func(t string) bool {
			in, sig := split(t)
			h := sha256.Sum256(in)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			return ecdsa.Verify(pub, h[:], r, s)
		}
	case "EdDSA":
		pub := iss.PublicKey().(ed25519.PublicKey)
		return func(t string) bool {
			in, sig := split(t)
			return ed25519.Verify(pub, in, sig)
		}
	default:
		secret := iss.Secret()
		return func(t string) bool {
			in, sig := split(t)
			m := hmac.New(sha256.New, secret)
			m.Write(in)
			return hmac.Equal(m.Sum(nil), sig)
		}
	}
}
