package jwtguardgin_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/jwtguard/jwtguard"
	jwtguardgin "github.com/jwtguard/jwtguard/adapters/gin"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// TestNoDetailLeakGinErrorLogger: gin's stock ErrorLogger middleware
// renders every error in c.Errors (ErrorTypeAny includes private errors)
// into the response. The adapter adds the *jwtguard.Error there, so the
// operator-only Detail (trusted issuers, accepted audiences, key-set kids,
// JWKS URLs and fetch errors) reaches the client.
func TestNoDetailLeakGinErrorLogger(t *testing.T) {
	idp := jwtguardtest.NewIssuer(t, "ES256")
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKS(idp.JWKSURL()),
		jwtguard.WithIssuer("https://internal-idp.corp.example/"), // a secret-ish internal name
		jwtguard.WithAudience("payments-internal-api"))
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.ErrorLogger()) // stock gin middleware
	r.GET("/api", jwtguardgin.Middleware(g), func(c *gin.Context) { c.String(200, "secret") })

	req := httptest.NewRequest("GET", "/api", nil)
	req.Header.Set("Authorization", "Bearer "+idp.Sign(jwtguardtest.Claims{"iss": "https://attacker.example/", "aud": "x"}))
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	t.Logf("status %d body %s", w.Code, w.Body)
	for _, secret := range []string{"internal-idp.corp.example", "trusted:"} {
		if strings.Contains(w.Body.String(), secret) {
			t.Errorf("response body leaks the refusal's Detail (%q): %s", secret, w.Body)
		}
	}
}
