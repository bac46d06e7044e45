package jwtguardecho_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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

// Apps that render every error in one HTTPErrorHandler let the middleware
// hand refusals to it. The challenge is already in the headers; the handler
// writes the body, and needs no Committed check for refusals.
func ExampleWithEchoErrorHandler() {
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
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		status, msg := http.StatusInternalServerError, "internal error"
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status, msg = he.Code, fmt.Sprint(he.Message)
		}
		_ = c.JSON(status, map[string]any{"status": status, "message": msg})
	}
	api := e.Group("/api", jwtguardecho.Middleware(guard, jwtguardecho.WithEchoErrorHandler()))
	api.GET("/orders", func(c echo.Context) error {
		return c.String(200, "orders")
	}, jwtguardecho.RequireScopes(guard, "orders:read"))

	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/api/orders", nil))
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	fmt.Print(w.Body.String())

	req := httptest.NewRequest("GET", "/api/orders", nil)
	req.Header.Set("Authorization", "Bearer "+idp.Sign(jwtguardtest.Claims{"sub": "alice", "aud": "orders-api"}))
	w = httptest.NewRecorder()
	e.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	fmt.Print(w.Body.String())
	// Output:
	// 401 Bearer realm="api"
	// {"message":"authentication required","status":401}
	// 403 Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="orders:read"
	// {"message":"insufficient scope","status":403}
}

// A handler test needs no token: put the claims into the request's
// context with jwtguard.NewContext, and Claims and Require see them.
func Example_handlerTest() {
	claims, _ := jwtguard.ClaimsFromJSON([]byte(`{"sub":"alice","scope":"orders:read"}`))
	handler := func(c echo.Context) error {
		claims, _ := jwtguardecho.Claims(c)
		return c.String(200, "orders of "+claims.Subject())
	}

	req := httptest.NewRequestWithContext(jwtguard.NewContext(context.Background(), claims), "GET", "/api/orders", nil)
	w := httptest.NewRecorder()
	_ = handler(echo.New().NewContext(req, w))
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 200 orders of alice
}
