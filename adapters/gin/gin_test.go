package jwtguardgin_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/jwtguard/jwtguard"
	jwtguardgin "github.com/jwtguard/jwtguard/adapters/gin"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func init() { gin.SetMode(gin.TestMode) }

func newApp(g jwtguardtest.AdapterGuards) http.Handler {
	r := gin.New()
	hello := func(c *gin.Context) {
		g.Ran.Add(1)
		fromGin, ok1 := jwtguardgin.Claims(c)
		fromCtx, ok2 := jwtguard.ClaimsFromContext(c.Request.Context())
		switch {
		case ok1 != ok2 || fromGin != fromCtx:
			c.String(200, "mismatch")
		case !ok1:
			c.String(200, "anonymous")
		default:
			c.String(200, "hello "+fromGin.Subject())
		}
	}
	orders := func(c *gin.Context) {
		g.Ran.Add(1)
		c.String(200, "orders")
	}
	api := r.Group("/api", jwtguardgin.Middleware(g.Required))
	api.GET("/me", hello)
	api.OPTIONS("/me", hello)
	api.GET("/orders", jwtguardgin.RequireScopes(g.Required, "orders:read"), orders)
	api.GET("/fail", func(c *gin.Context) {
		g.Ran.Add(1)
		_ = c.AbortWithError(http.StatusTeapot, errors.New("handler failed"))
	})
	r.GET("/optional", jwtguardgin.Middleware(g.Optional), hello)
	r.GET("/public", func(c *gin.Context) { c.String(200, "public") })
	preflight := r.Group("/preflight", jwtguardgin.Middleware(g.Preflight), jwtguardgin.RequireScopes(g.Preflight, "orders:read"))
	preflight.GET("/orders", orders)
	preflight.OPTIONS("/orders", orders)
	r.GET("/injected", hello)
	r.GET("/injected/orders", jwtguardgin.RequireScopes(g.Required, "orders:read"), orders)
	return r
}

func TestAdapterSuite(t *testing.T) {
	jwtguardtest.RunAdapterSuite(t, newApp)
}

// TestErrorReachesGin checks that a refusal is visible to gin's own error
// handling (c.Errors) and that later handlers never run.
func TestErrorReachesGin(t *testing.T) {
	t.Parallel()
	iss := jwtguardtest.NewIssuer(t, "EdDSA")
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(iss.JWKSURL()), jwtguard.WithIssuer(iss.URL), jwtguard.WithAudience("a"))
	if err != nil {
		t.Fatal(err)
	}
	var seen error
	ran := false
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		if len(c.Errors) > 0 {
			seen = c.Errors.Last().Err
		}
	})
	r.GET("/", jwtguardgin.Middleware(g), func(c *gin.Context) { ran = true })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 401 || ran || !errors.Is(seen, jwtguard.ErrNoToken) {
		t.Fatalf("status %d, handler ran %v, gin saw %v", w.Code, ran, seen)
	}
}

// TestClaimsInHandlerTest: a handler test made with gin.CreateTestContext
// sees claims put into the request's context with jwtguard.NewContext,
// through Claims and Require, and no claims when it has no request.
func TestClaimsInHandlerTest(t *testing.T) {
	t.Parallel()
	g, err := jwtguard.New(t.Context(), jwtguard.WithHMACSecret(make([]byte, 32)), jwtguard.WithIssuer("https://issuer.example"), jwtguard.WithAudience("a"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := jwtguard.ClaimsFromJSON([]byte(`{"sub":"alice","scope":"orders:read"}`))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	if _, ok := jwtguardgin.Claims(c); ok {
		t.Fatal("Claims without a request: ok")
	}
	c.Request = httptest.NewRequestWithContext(jwtguard.NewContext(t.Context(), want), "GET", "/", nil)
	if got, ok := jwtguardgin.Claims(c); !ok || got != want {
		t.Fatalf("Claims = %v, %v; want the injected claims", got, ok)
	}
	jwtguardgin.RequireScopes(g, "orders:read")(c)
	if c.IsAborted() || w.Code != 200 {
		t.Fatalf("RequireScopes with injected claims: aborted %v, status %d", c.IsAborted(), w.Code)
	}
}
