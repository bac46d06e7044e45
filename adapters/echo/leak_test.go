package jwtguardecho_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	jwtguardecho "github.com/jwtguard/jwtguard/adapters/echo"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/labstack/echo/v4"
)

// TestNoDetailLeakEchoDebug: with WithEchoErrorHandler and echo's
// Debug mode, the default error handler sends HTTPError.Error(), which
// includes Internal.Error(), i.e. the *jwtguard.Error's Detail.
// (Documented in WithEchoErrorHandler; avoidable.)
func TestNoDetailLeakEchoDebug(t *testing.T) {
	idp := jwtguardtest.NewIssuer(t, "ES256")
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(idp.JWKSURL()),
		jwtguard.WithIssuer("https://internal-idp.corp.example/"), jwtguard.WithAudience("a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, debug := range []bool{false, true} {
		for _, opts := range [][]jwtguardecho.Option{nil, {jwtguardecho.WithEchoErrorHandler()}} {
			e := echo.New()
			e.Debug = debug
			e.GET("/api", func(c echo.Context) error { return c.String(200, "secret") }, jwtguardecho.Middleware(g, opts...))
			req := httptest.NewRequest("GET", "/api", nil)
			req.Header.Set("Authorization", "Bearer "+idp.Sign(jwtguardtest.Claims{"iss": "https://attacker.example/", "aud": "a"}))
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			if strings.Contains(w.Body.String(), "internal-idp") {
				t.Errorf("debug=%v, %d options: body leaks Detail: %s", debug, len(opts), w.Body)
			}
		}
	}
}
