package jwtguardecho_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/jwtguard/jwtguard"
	jwtguardecho "github.com/jwtguard/jwtguard/adapters/echo"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/labstack/echo/v4"
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

	e := echo.New()
	api := e.Group("/api", jwtguardecho.Middleware(guard)) // only /api is protected
	api.GET("/orders", func(c echo.Context) error {
		claims, _ := jwtguardecho.Claims(c)
		return c.String(200, "orders of "+claims.Subject())
	}, jwtguardecho.RequireScopes(guard, "orders:read"))

	req := httptest.NewRequest("GET", "/api/orders", nil)
	req.Header.Set("Authorization", "Bearer "+idp.Sign(jwtguardtest.Claims{"sub": "alice", "aud": "orders-api", "scope": "orders:read"}))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())

	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/api/orders", nil))
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// 200 orders of alice
	// 401 Bearer realm="api"
}
