package issuer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
)

// A token endpoint that binds tokens to the client's DPoP key, and an API
// that takes only such tokens, each with a fresh proof. The client's key
// and proofs (newProofKey, proof) are in dpop_test.go: a P-256 key and
// JWS-signed proofs, as any DPoP client library makes them.
func ExampleIssuer_TokenHandler() {
	ctx := context.Background()
	checker, err := jwtguard.NewDPoPChecker(jwtguard.WithPublicOrigin("https://app.example"))
	if err != nil {
		panic(err)
	}
	iss, err := issuer.New("https://app.example", issuer.WithAudience("api"), issuer.WithDPoP(checker))
	if err != nil {
		panic(err)
	}
	tokens := iss.TokenHandler(func(r *http.Request) (string, map[string]any, error) {
		if r.PostFormValue("client_id") != "demo" { // your own grant check
			return "", nil, issuer.ErrInvalidCredentials
		}
		return "alice", nil, nil
	})
	jwks, _ := iss.JWKS()
	guard, err := jwtguard.New(ctx, jwtguard.WithJWKSet(jwks), jwtguard.WithIssuer(iss.URL()), jwtguard.WithAudience("api"),
		jwtguard.WithDPoP(jwtguard.DPoPRequired), jwtguard.WithPublicOrigin("https://app.example"))
	if err != nil {
		panic(err)
	}
	api := guard.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", c.Subject())
	}))

	key := newProofKey()
	r := httptest.NewRequest("POST", "https://app.example/token", strings.NewReader(url.Values{"client_id": {"demo"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("DPoP", key.proof("POST", "https://app.example/token", time.Now(), "", nil))
	w := httptest.NewRecorder()
	tokens.ServeHTTP(w, r)
	var tok issuer.Token
	_ = json.Unmarshal(w.Body.Bytes(), &tok)
	fmt.Println("token_type:", tok.TokenType)

	call := func(scheme string, withProof bool) {
		r := httptest.NewRequest("GET", "https://app.example/api/me", nil)
		r.Header.Set("Authorization", scheme+" "+tok.AccessToken)
		if withProof {
			r.Header.Set("DPoP", key.proof("GET", "https://app.example/api/me", time.Now(), tok.AccessToken, nil))
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Println(scheme, withProof, w.Code, w.Body.String())
	}
	call("DPoP", true)
	call("Bearer", false) // the token alone
	// Output:
	// token_type: DPoP
	// DPoP true 200 hello alice
	// Bearer false 401 {"error":"invalid_token","error_description":"DPoP required: send the token as Authorization: DPoP with a DPoP proof"}
}
