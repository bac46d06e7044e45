package main

// userProgram is the main.go of the fresh user module: what a user writes
// after go get. It mounts one guard on net/http, gin, echo v4 and echo v5
// and checks, through each, that a request without a token gets a 401 with
// a challenge and the handler never runs, and that a valid HS256 token
// reaches the handler with its claims. It exits 1 on any difference.
const userProgram = `package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jwtguard/jwtguard"
	jwtguardecho "github.com/jwtguard/jwtguard/adapters/echo"
	jwtguardechov5 "github.com/jwtguard/jwtguard/adapters/echov5"
	jwtguardgin "github.com/jwtguard/jwtguard/adapters/gin"
	"github.com/jwtguard/jwtguard/issuer"
	jwtguardotel "github.com/jwtguard/jwtguard/otel"
	jwtguardredis "github.com/jwtguard/jwtguard/redis"
	echo4 "github.com/labstack/echo/v4"
	echo5 "github.com/labstack/echo/v5"
)

var secret = []byte("installcheck-secret-of-32-bytes!")

// The Redis module installs and its Store fits the sessions and its
// Mirror fits the guard (no server is contacted).
var (
	_ issuer.Store     = (*jwtguardredis.Store)(nil)
	_ jwtguard.Revoker = (*jwtguardredis.Mirror)(nil)
	_                  = jwtguardotel.Observer // the OTel module installs too
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := jwtguard.New(ctx,
		jwtguard.WithHMACSecret(secret),
		jwtguard.WithIssuer("i"),
		jwtguard.WithAudience("a"),
	)
	if err != nil {
		fmt.Println("jwtguard.New:", err)
		os.Exit(1)
	}

	mux := http.NewServeMux()
	mux.Handle("/", g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := jwtguard.ClaimsFromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", 500)
			return
		}
		fmt.Fprint(w, c.Subject())
	})))

	gin.SetMode(gin.ReleaseMode)
	gn := gin.New()
	gn.Use(jwtguardgin.Middleware(g))
	gn.GET("/", func(c *gin.Context) {
		claims, ok := jwtguardgin.Claims(c)
		if !ok {
			c.String(500, "no claims")
			return
		}
		c.String(200, claims.Subject())
	})

	e4 := echo4.New()
	e4.Use(jwtguardecho.Middleware(g))
	e4.GET("/", func(c echo4.Context) error {
		claims, ok := jwtguardecho.Claims(c)
		if !ok {
			return c.String(500, "no claims")
		}
		return c.String(200, claims.Subject())
	})

	e5 := echo5.New()
	e5.Use(jwtguardechov5.Middleware(g))
	e5.GET("/", func(c *echo5.Context) error {
		claims, ok := jwtguardechov5.Claims(c)
		if !ok {
			return c.String(500, "no claims")
		}
		return c.String(200, claims.Subject())
	})

	token := sign(fmt.Sprintf(` + "`" + `{"iss":"i","aud":"a","sub":"alice","exp":%d}` + "`" + `, time.Now().Add(time.Minute).Unix()))
	failed := false
	for _, s := range []struct {
		name string
		h    http.Handler
	}{{"net/http", mux}, {"gin", gn}, {"echo v4", e4}, {"echo v5", e5}} {
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != 401 || w.Header().Get("WWW-Authenticate") == "" {
			fmt.Printf("%s without a token: %d %q, want 401 with a challenge\n", s.name, w.Code, w.Body.String())
			failed = true
		}
		w = httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		s.h.ServeHTTP(w, r)
		if w.Code != 200 || w.Body.String() != "alice" {
			fmt.Printf("%s with a valid token: %d %q, want 200 \"alice\"\n", s.name, w.Code, w.Body.String())
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// sign makes an HS256 JWT with the standard library only.
func sign(claims string) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(` + "`" + `{"alg":"HS256","typ":"JWT"}` + "`" + `)) + "." + enc.EncodeToString([]byte(claims))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil))
}
`
