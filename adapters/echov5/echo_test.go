package jwtguardechov5_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jwtguard/jwtguard"
	jwtguardechov5 "github.com/jwtguard/jwtguard/adapters/echov5"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/labstack/echo/v5"
)

func newApp(g jwtguardtest.AdapterGuards) http.Handler {
	e := echo.New()
	hello := func(c *echo.Context) error {
		g.Ran.Add(1)
		fromEcho, ok1 := jwtguardechov5.Claims(c)
		fromCtx, ok2 := jwtguard.ClaimsFromContext(c.Request().Context())
		switch {
		case ok1 != ok2 || fromEcho != fromCtx:
			return c.String(200, "mismatch")
		case !ok1:
			return c.String(200, "anonymous")
		}
		return c.String(200, "hello "+fromEcho.Subject())
	}
	api := e.Group("/api", jwtguardechov5.Middleware(g.Required))
	api.GET("/me", hello)
	api.GET("/orders", func(c *echo.Context) error {
		g.Ran.Add(1)
		return c.String(200, "orders")
	}, jwtguardechov5.RequireScopes(g.Required, "orders:read"))
	api.GET("/fail", func(c *echo.Context) error {
		g.Ran.Add(1)
		return echo.NewHTTPError(http.StatusTeapot, "handler failed")
	})
	e.GET("/optional", hello, jwtguardechov5.Middleware(g.Optional))
	e.GET("/public", func(c *echo.Context) error { return c.String(200, "public") })
	return e
}

func TestAdapterSuite(t *testing.T) {
	jwtguardtest.RunAdapterSuite(t, newApp)
}

// TestErrorReachesEcho checks that echo's error handler receives the
// guard's error, and that a handler's own error reaches it unchanged.
func TestErrorReachesEcho(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "ES256")
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience("a"))
	if err != nil {
		t.Fatal(err)
	}
	var seen []error
	e := echo.New()
	def := echo.DefaultHTTPErrorHandler(false)
	e.HTTPErrorHandler = func(c *echo.Context, err error) {
		seen = append(seen, err)
		def(c, err)
	}
	handlerErr := errors.New("db down")
	e.GET("/", func(c *echo.Context) error { return handlerErr }, jwtguardechov5.Middleware(g))

	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	var je *jwtguard.Error
	if w.Code != 401 || len(seen) != 1 || !errors.As(seen[0], &je) || je.StatusCode() != 401 {
		t.Fatalf("refusal: status %d, error handler saw %v", w.Code, seen)
	}

	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+iss.Sign(jwtguardtest.Claims{"aud": "a"}))
	w = httptest.NewRecorder()
	e.ServeHTTP(w, r)
	if w.Code != 500 || len(seen) != 2 || seen[1] != handlerErr {
		t.Fatalf("handler error: status %d, error handler saw %v", w.Code, seen)
	}
}
