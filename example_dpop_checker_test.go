package jwtguard_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
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
	client, err := jwtguardtest.GenerateDPoPKey() // the client's key, as an app holds it
	if err != nil {
		panic(err)
	}
	request := func(nonce string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "https://login.example.com/token", nil)
		r.Header.Set("DPoP", client.ProofWith("POST", "https://login.example.com/token", "", func(_, claims map[string]any) {
			if nonce != "" {
				claims["nonce"] = nonce
			}
		}))
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
