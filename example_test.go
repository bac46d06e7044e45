package jwtguard_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

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
	idp, err := jwtguardtest.StartIssuer("HS256") // signs with a fresh 32-byte secret
	if err != nil {
		panic(err)
	}
	defer idp.Close()
	g, err := jwtguard.New(context.Background(),
		jwtguard.WithHMACSecret(idp.Secret()),
		jwtguard.WithIssuer(idp.URL),
		jwtguard.WithAudience("orders-api"),
	)
	if err != nil {
		panic(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := g.Handler(g.RequireScopes("orders:write")(ok))

	token := idp.Sign(jwtguardtest.Claims{"aud": "orders-api", "scope": "orders:read"})
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

// ExampleRevocationList revokes a token on logout: the guard refuses it at
// once, even from its cache of verified tokens.
func ExampleRevocationList() {
	idp, err := jwtguardtest.StartIssuer("ES256")
	if err != nil {
		panic(err)
	}
	defer idp.Close()
	revoked := jwtguard.NewRevocationList(nil)
	g, err := jwtguard.New(context.Background(),
		jwtguard.WithJWKS(idp.JWKSURL()), jwtguard.WithIssuer(idp.URL), jwtguard.WithAudience("orders-api"),
		jwtguard.WithRevocations(revoked),
	)
	if err != nil {
		panic(err)
	}
	defer g.Close()
	token := idp.Sign(jwtguardtest.Claims{"aud": "orders-api", "sub": "alice", "sid": "session-1"})
	_, err = g.Verify(context.Background(), token)
	fmt.Println("before logout:", err)

	revoked.RevokeSession(idp.URL, "session-1", time.Now().Add(time.Hour)) // logout
	_, err = g.Verify(context.Background(), token)
	fmt.Println("after logout:", errors.Is(err, jwtguard.ErrRevoked))
	// Output:
	// before logout: <nil>
	// after logout: true
}

// ExampleWithIssuerTemplate trusts the tenants of a multi-tenant identity
// provider (Microsoft Entra ID's "https://login.microsoftonline.com/{tid}/v2.0"),
// which all sign with one key set.
func ExampleWithIssuerTemplate() {
	idp, err := jwtguardtest.StartIssuer("RS256")
	if err != nil {
		panic(err)
	}
	defer idp.Close()
	g, err := jwtguard.New(context.Background(),
		jwtguard.WithIssuerTemplate(idp.URL+"/{tid}/v2.0",
			jwtguard.WithJWKS(idp.JWKSURL()), // Entra: https://login.microsoftonline.com/common/discovery/v2.0/keys
			jwtguard.WithAudience("api://orders")),
	)
	if err != nil {
		panic(err)
	}
	defer g.Close()
	for _, tid := range []string{"contoso", "fabrikam"} {
		token := idp.Sign(jwtguardtest.Claims{"iss": idp.URL + "/" + tid + "/v2.0", "tid": tid, "aud": "api://orders"})
		c, err := g.Verify(context.Background(), token)
		fmt.Println(c.TenantID(), err)
	}
	forged := idp.Sign(jwtguardtest.Claims{"iss": idp.URL + "/contoso/v2.0", "tid": "fabrikam", "aud": "api://orders"})
	_, err = g.Verify(context.Background(), forged)
	fmt.Println(errors.Is(err, jwtguard.ErrIssuer))
	// Output:
	// contoso <nil>
	// fabrikam <nil>
	// true
}
