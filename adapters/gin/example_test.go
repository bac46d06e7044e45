package jwtguardgin_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	"github.com/jwtguard/jwtguard"
	jwtguardgin "github.com/jwtguard/jwtguard/adapters/gin"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func Example() {
	idp, _ := jwtguardtest.StartIssuer("ES256")
	defer idp.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	guard, err := jwtguard.New(ctx,
		jwtguard.WithJWKS(idp.JWKSURL()),
		jwtguard.WithIssuer(idp.URL),
		jwtguard.WithAudience("orders-api"),
	)
	if err != nil {
		panic(err)
	}

	r := gin.New()
	api := r.Group("/api", jwtguardgin.Middleware(guard)) // only /api is protected
	api.GET("/orders", jwtguardgin.RequireScopes(guard, "orders:read"), func(c *gin.Context) {
		claims, _ := jwtguardgin.Claims(c)
		c.String(200, "orders of %s", claims.Subject())
	})
	r.GET("/health", func(c *gin.Context) { c.String(200, "ok") })

	req := httptest.NewRequest("GET", "/api/orders", nil)
	req.Header.Set("Authorization", "Bearer "+idp.Sign(jwtguardtest.Claims{"sub": "alice", "aud": "orders-api", "scope": "orders:read"}))
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())

	w = httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/api/orders", nil))
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// 200 orders of alice
	// 401 Bearer realm="api"
}

// A handler test needs no token: put the claims into the request's
// context with jwtguard.NewContext, and Claims and Require see them.
func Example_handlerTest() {
	claims, _ := jwtguard.ClaimsFromJSON([]byte(`{"sub":"alice","scope":"orders:read"}`))
	handler := func(c *gin.Context) {
		claims, _ := jwtguardgin.Claims(c)
		c.String(200, "orders of %s", claims.Subject())
	}

	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequestWithContext(jwtguard.NewContext(context.Background(), claims), "GET", "/api/orders", nil)
	handler(c)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 200 orders of alice
}
