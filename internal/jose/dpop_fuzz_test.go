package jose

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/internal/fuzzcost"
)

// fuzzProofKey signs the fuzzer's proofs, so that the claims reader (which
// runs only after the signature verifies) is reached.
var fuzzProofKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

func fuzzProofJWK() string {
	return `{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(fuzzProofKey.Public().(ed25519.PublicKey)) + `"}`
}

// FuzzParseProof signs header and payload as they are and parses the
// proof: never a panic, linear cost, and what is accepted has every
// required member, a thumbprint, and an alg from the list.
func FuzzParseProof(f *testing.F) {
	jwk := fuzzProofJWK()
	f.Add([]byte(`{"typ":"dpop+jwt","alg":"EdDSA","jwk":`+jwk+`}`), []byte(`{"jti":"a","htm":"GET","htu":"https://x/y","iat":1700000000,"ath":"x"}`))
	f.Add([]byte(`{"typ":"dpop+jwt","alg":"EdDSA","jwk":`+jwk+`}`), []byte(`{"jti":"a","jti":"b","htm":1}`))
	f.Add([]byte(`{"typ":"dpop+jwt","alg":"EdDSA","jwk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}}`), []byte(`{}`))
	f.Add([]byte(`{"typ":"dpop+jwt","alg":"EdDSA","jwk":`+jwk+`}`), []byte(`{"jti":"a","x":`+strings.Repeat("[", 40)+`}`))
	algs := []string{"EdDSA", "ES256"}
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
		proof := input + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(fuzzProofKey, []byte(input)))
		var (
			p   *Proof
			err error
		)
		fuzzcost.Check(t, len(proof), func() { p, err = ParseProof(proof, algs) })
		if err != nil {
			return
		}
		if p.ID == "" || p.Method == "" || p.URI == "" || !p.hasIat || len(p.JWK.Thumbprint) != 43 || !contains(algs, p.Alg) {
			t.Fatalf("accepted an incomplete proof: %+v", p)
		}
		if err := CheckJSON(header); err != nil {
			t.Fatalf("accepted a header the strict scanner refuses: %v", err)
		}
		if err := CheckJSON(payload); err != nil {
			t.Fatalf("accepted claims the strict scanner refuses: %v", err)
		}
	})
}

// FuzzParseProofRaw feeds arbitrary strings as proofs.
func FuzzParseProofRaw(f *testing.F) {
	f.Add("eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.AA")
	f.Add(strings.Repeat("A", MaxProofBytes+1))
	f.Add("a.b.c.d")
	f.Fuzz(func(t *testing.T, proof string) {
		fuzzcost.Check(t, len(proof), func() { _, _ = ParseProof(proof, []string{"ES256", "EdDSA", "RS256"}) })
	})
}

// FuzzParsePublicJWK: never a panic, never a private or symmetric key.
func FuzzParsePublicJWK(f *testing.F) {
	f.Add([]byte(fuzzProofJWK()))
	f.Add([]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB"}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var (
			k   *ProofKey
			err error
		)
		fuzzcost.Check(t, len(doc), func() { k, err = ParsePublicJWK(doc) })
		if err != nil {
			return
		}
		if _, secret := k.Key.Key.([]byte); secret || len(k.Thumbprint) != 43 {
			t.Fatalf("accepted %T with thumbprint %q", k.Key.Key, k.Thumbprint)
		}
	})
}
