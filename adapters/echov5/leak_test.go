package jwtguardechov5_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	jwtguardechov5 "github.com/jwtguard/jwtguard/adapters/echov5"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/labstack/echo/v5"
)

func TestNoDetailLeakEchoV5DefaultHandler(t *testing.T) {
	idp := jwtguardtest.NewIssuer(t, "ES256")
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(idp.JWKSURL()),
		jwtguard.WithIssuer("https://internal-idp.corp.example/"), jwtguard.WithAudience("a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, expose := range []bool{false, true} {
		for _, opts := range [][]jwtguardechov5.Option{nil, {jwtguardechov5.WithEchoErrorHandler()}} {
			e := echo.New()
			e.HTTPErrorHandler = echo.DefaultHTTPErrorHandler(expose)
			e.GET("/api", func(c *echo.Context) error { return c.String(200, "secret") }, jwtguardechov5.Middleware(g, opts...))
			req := httptest.NewRequest("GET", "/api", nil)
			req.Header.Set("Authorization", "Bearer "+idp.Sign(jwtguardtest.Claims{"iss": "https://attacker.example/", "aud": "a"}))
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			if strings.Contains(w.Body.String(), "internal-idp") {
				t.Errorf("expose=%v, %d options: body leaks Detail: %s", expose, len(opts), w.Body)
			}
		}
	}
}
