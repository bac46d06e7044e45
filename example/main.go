// Command example runs a self-contained demo on 127.0.0.1: a small token
// issuer (its JWKS and a token endpoint for a demo user) and an API
// protected by jwtguard. Run it with `go run ./example` and follow the
// curl commands it prints.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
)

const (
	demoUser     = "alice"
	demoPassword = "wonderland"
	apiAudience  = "demo-api"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (loopback only)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen on %s: %v (try -addr 127.0.0.1:0)", *addr, err)
	}
	if err := run(ctx, ln, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves the demo on ln until ctx ends.
func run(ctx context.Context, ln net.Listener, out io.Writer) error {
	base := "http://" + ln.Addr().String()
	iss, err := issuer.New(base, issuer.WithAudience(apiAudience), issuer.WithAccessTokenTTL(5*time.Minute))
	if err != nil {
		return err
	}
	guard, err := jwtguard.New(ctx,
		jwtguard.WithJWKS(base+"/.well-known/jwks.json"),
		jwtguard.WithIssuer(base),
		jwtguard.WithAudience(apiAudience),
		jwtguard.WithRequiredType("at+jwt"),
	)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", iss.JWKSHandler())
	mux.HandleFunc("POST /token", tokenHandler(iss))
	mux.Handle("GET /api/me", guard.Handler(http.HandlerFunc(me)))
	mux.Handle("GET /api/orders", guard.Handler(guard.RequireScopes("orders:read")(http.HandlerFunc(orders))))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !guard.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(guard.Status())
	})

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(out, `jwtguard demo listening on %[1]s

  # no token: 401 with a WWW-Authenticate challenge
  curl -i %[1]s/api/me

  # log in as the demo user and keep the access token
  TOKEN=$(curl -s -d username=%[2]s -d password=%[3]s %[1]s/token | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

  # with the token: 200 and the verified claims
  curl -i -H "Authorization: Bearer $TOKEN" %[1]s/api/me

  # a route that needs the orders:read scope
  curl -i -H "Authorization: Bearer $TOKEN" %[1]s/api/orders

  # key cache status, for health probes
  curl -s %[1]s/healthz

Press Ctrl+C to stop.
`, base, demoUser, demoPassword)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// tokenHandler is a stand-in for a real login: one demo user, password
// checked in constant time, scopes fixed.
func tokenHandler(iss *issuer.Issuer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		user, pass := r.PostFormValue("username"), r.PostFormValue("password")
		if subtle.ConstantTimeCompare([]byte(user), []byte(demoUser)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(demoPassword)) != 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		token, exp, err := iss.Issue(user, map[string]any{"scope": "orders:read profile", "name": "Alice Liddell"})
		if err != nil {
			http.Error(w, "cannot issue token", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": token,
			"token_type":   "Bearer",
			"expires_in":   int(time.Until(exp).Seconds()),
		})
	}
}

func me(w http.ResponseWriter, r *http.Request) {
	claims, _ := jwtguard.ClaimsFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(claims.JSON())
}

func orders(w http.ResponseWriter, r *http.Request) {
	claims, _ := jwtguard.ClaimsFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"owner": claims.Subject(), "orders": []string{"#1001", "#1002"}})
}
