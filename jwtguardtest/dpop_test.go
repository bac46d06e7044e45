package jwtguardtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// A test of a DPoP-protected handler: a token bound to the client's key
// passes with the key's proof and is refused alone.
func ExampleDPoPKey() {
	iss, err := jwtguardtest.StartIssuer("ES256")
	if err != nil {
		panic(err)
	}
	defer iss.Close()
	guard, err := jwtguard.New(context.Background(), jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer(iss.URL),
		jwtguard.WithAudience("orders-api"), jwtguard.WithDPoP(jwtguard.DPoPRequired))
	if err != nil {
		panic(err)
	}
	defer guard.Close()
	api := guard.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))

	key, err := jwtguardtest.GenerateDPoPKey()
	if err != nil {
		panic(err)
	}
	token := iss.Sign(jwtguardtest.Claims{"sub": "alice", "aud": "orders-api", "cnf": map[string]any{"jkt": key.Thumbprint()}})
	call := func(proof string) int {
		r := httptest.NewRequest("GET", "https://api.example.com/orders", nil)
		r.Header.Set("Authorization", "DPoP "+token)
		if proof != "" {
			r.Header.Set("DPoP", proof)
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		return w.Code
	}
	fmt.Println(call(key.Proof("GET", "https://api.example.com/orders", token)))
	fmt.Println(call(""))
	// Output:
	// 200
	// 401
}
