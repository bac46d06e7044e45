package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/http"
	"strings"
)

// Floor is the least any verifier must do, as an http.Handler around next:
// take the bearer token, base64-decode the signature, hash and check it with
// the standard library. No claims, no key lookup, no cache: the crypto
// floor that every ratio in BENCHMARKS.md divides by.
func Floor(p *Pool, next http.Handler) http.Handler {
	var verify func(input, sig []byte) bool
	switch pub := p.PublicKey().(type) {
	case *rsa.PublicKey:
		verify = func(in, sig []byte) bool {
			h := sha256.Sum256(in)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
		}
	case *ecdsa.PublicKey:
		verify = func(in, sig []byte) bool {
			h := sha256.Sum256(in)
			return len(sig) == 64 && ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
		}
	case ed25519.PublicKey:
		verify = func(in, sig []byte) bool { return ed25519.Verify(pub, in, sig) }
	default:
		secret := p.Secret()
		verify = func(in, sig []byte) bool {
			m := hmac.New(sha256.New, secret)
			m.Write(in)
			return hmac.Equal(m.Sum(nil), sig)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		i := strings.LastIndexByte(token, '.')
		if i < 0 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
		if err != nil || !verify([]byte(token[:i]), sig) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
