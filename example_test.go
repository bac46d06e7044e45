package jwtguard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func Example() {
	// A fake identity provider serving its JWKS over HTTP.
	idp, err := jwtguardtest.StartIssuer("RS256")
	if err != nil {
		panic(err)
	}
	defer idp.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // stops the background key refresh

	g, err := jwtguard.New(ctx,
		jwtguard.WithJWKS(idp.JWKSURL()),
		jwtguard.WithIssuer(idp.URL),
		jwtguard.WithAudience("orders-api"),
	)
	if err != nil {
		panic(err)
	}
	api := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Subject())
	}))

	for _, token := range []string{
		"", // no token
		idp.Sign(jwtguardtest.Claims{"sub": "alice", "aud": "orders-api"}),
		idp.Sign(jwtguardtest.Claims{"sub": "alice", "aud": "billing-api"}),
	} {
		r := httptest.NewRequest("GET", "/orders", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Body)
		if w.Code == 200 {
			fmt.Println(w.Code, string(body))
			continue
		}
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	}
	// Output:
	// 401 Bearer realm="api"
	// 200 hello alice
	// 401 Bearer realm="api", error="invalid_token", error_description="audience not accepted"
}

func ExampleGuard_RequireScopes() {
	secret := []byte("an HMAC secret of at least 32 bytes!")
	g, err := jwtguard.New(context.Background(),
		jwtguard.WithHMACSecret(secret),
		jwtguard.WithIssuer("https://login.example.com"),
		jwtguard.WithAudience("orders-api"),
	)
	if err != nil {
		panic(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := g.Handler(g.RequireScopes("orders:write")(ok))

	token := signHS256(secret, `{"iss":"https://login.example.com","aud":"orders-api","exp":4102444800,"scope":"orders:read"}`)
	r := httptest.NewRequest("POST", "/orders", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// 403 Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="orders:write"
}

// ExampleNewContext shows how to test a handler that reads claims, without
// any token at all.
func ExampleNewContext() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		claims, ok := jwtguard.ClaimsFromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "tenant of %s", claims.Subject())
	}
	claims, err := jwtguard.ClaimsFromJSON([]byte(`{"sub":"alice","exp":4102444800}`))
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(jwtguard.NewContext(r.Context(), claims))
	w := httptest.NewRecorder()
	handler(w, r)
	fmt.Println(w.Body.String())
	// Output: tenant of alice
}

func ExampleDecodeClaims() {
	claims, err := jwtguard.ClaimsFromJSON([]byte(`{"sub":"alice","org":{"id":"acme","plan":"pro"}}`))
	if err != nil {
		panic(err)
	}
	type orgClaims struct {
		Org struct {
			ID   string `json:"id"`
			Plan string `json:"plan"`
		} `json:"org"`
	}
	c, err := jwtguard.DecodeClaims[orgClaims](claims)
	fmt.Println(c.Org.ID, c.Org.Plan, err)
	// Output: acme pro <nil>
}

func ExampleWithCredentialsOptional() {
	secret := []byte("an HMAC secret of at least 32 bytes!")
	g, _ := jwtguard.New(context.Background(),
		jwtguard.WithHMACSecret(secret),
		jwtguard.WithIssuer("https://login.example.com"),
		jwtguard.WithAudience("shop"),
		jwtguard.WithCredentialsOptional(),
	)
	h := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := jwtguard.ClaimsFromContext(r.Context()); ok {
			fmt.Fprint(w, "welcome back ", c.Subject())
			return
		}
		fmt.Fprint(w, "welcome, guest")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	fmt.Println(w.Code, w.Body.String())
	// Output: 200 welcome, guest
}
