package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/jwtguard/jwtguard"
)

// A token endpoint checks the DPoP proof of a token request with the
// guard's own checks, and binds the token it issues to the proof's key
// (cnf.jkt). With nonces on, the first proof is refused with the nonce to
// use. The issuer package does all this: issuer.WithDPoP.
func ExampleDPoPChecker() {
	checker, err := jwtguard.NewDPoPChecker(
		jwtguard.WithPublicOrigin("https://login.example.com"), // the htu clients sign
		jwtguard.WithDPoPNonce([]byte("a secret of at least thirty-two bytes"), 5*time.Minute),
	)
	if err != nil {
		panic(err)
	}
	client, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	request := func(nonce string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "https://login.example.com/token", nil)
		r.Header.Set("DPoP", exampleProof(client, "POST", "https://login.example.com/token", nonce))
		w := httptest.NewRecorder()
		jkt, err := checker.Check(r)
		switch {
		case errors.Is(err, jwtguard.ErrUseDPoPNonce):
			w.Header().Set("DPoP-Nonce", checker.Nonce())
			w.WriteHeader(400) // {"error":"use_dpop_nonce"}
		case err != nil:
			w.WriteHeader(400) // {"error":"invalid_dpop_proof"}
		default:
			fmt.Fprintf(w, `{"token_type":"DPoP"} with cnf.jkt of %d characters`, len(jkt))
		}
		return w
	}
	first := request("")
	fmt.Println(first.Code, first.Header().Get("DPoP-Nonce") != "")
	second := request(first.Header().Get("DPoP-Nonce"))
	fmt.Println(second.Code, second.Body)
	// Output:
	// 400 true
	// 200 {"token_type":"DPoP"} with cnf.jkt of 43 characters
}

// exampleProof is a DPoP client's proof (RFC 9449 §4.2): an ES256 JWS with
// the public key in its header.
func exampleProof(key *ecdsa.PrivateKey, method, htu, nonce string) string {
	enc := base64.RawURLEncoding
	pub, _ := key.PublicKey.Bytes() // 0x04 || x || y
	header, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256",
		"jwk": map[string]string{"kty": "EC", "crv": "P-256", "x": enc.EncodeToString(pub[1:33]), "y": enc.EncodeToString(pub[33:])}})
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": htu, "iat": time.Now().Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	payload, _ := json.Marshal(claims)
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, _ := ecdsa.Sign(rand.Reader, key, digest[:])
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc.EncodeToString(sig)
}
