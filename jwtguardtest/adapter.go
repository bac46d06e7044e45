package jwtguardtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// AdapterAudience is the audience the guards of [RunAdapterSuite] accept.
const AdapterAudience = "adapter-suite"

// AdapterGuards are the guards a framework app under test mounts.
type AdapterGuards struct {
	Required *jwtguard.Guard // on /api/...
	Optional *jwtguard.Guard // on /optional, built WithCredentialsOptional
	// Ran counts runs of protected handlers; the app increments it in
	// every handler behind a guard.
	Ran *atomic.Int64
}

// RunAdapterSuite checks that a framework adapter behaves exactly like the
// net/http core. build returns the framework app (an http.Handler, as gin
// and echo engines are) with these routes:
//
//	GET /api/me        Required guard; writes "hello <sub>", reading the subject
//	                   through the framework's accessor and ClaimsFromContext,
//	                   or "mismatch" when the two disagree
//	GET /api/orders    Required guard, then the scope requirement "orders:read"; writes "orders"
//	GET /api/fail      Required guard; the handler fails in the framework's way with status 418
//	GET /optional      Optional guard; writes "hello <sub>" or "anonymous"
//	GET /public        no guard; writes "public"
//
// Every response of the adapter must match the net/http reference in
// status, WWW-Authenticate, Retry-After, Content-Type and body, and no
// protected handler may run on a refused request.
func RunAdapterSuite(t *testing.T, build func(AdapterGuards) http.Handler) {
	t.Helper()
	iss := NewIssuer(t, "ES256")
	down := NewIssuer(t, "ES256")
	down.SetJWKSHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	newGuard := func(i *Issuer, extra ...jwtguard.Option) *jwtguard.Guard {
		opts := append([]jwtguard.Option{
			jwtguard.WithJWKS(i.JWKSURL()), jwtguard.WithIssuer(i.URL), jwtguard.WithAudience(AdapterAudience),
			jwtguard.WithCacheSettings(jwtguard.CacheSettings{FetchTimeout: 2 * time.Second}),
		}, extra...)
		g, err := jwtguard.New(t.Context(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	var refRan, appRan atomic.Int64
	refGuards := AdapterGuards{Required: newGuard(iss), Optional: newGuard(iss, jwtguard.WithCredentialsOptional()), Ran: &refRan}
	appGuards := AdapterGuards{Required: refGuards.Required, Optional: refGuards.Optional, Ran: &appRan}
	ref := referenceApp(refGuards)
	app := build(appGuards)
	// Guards whose keys cannot load, for the 503 path.
	refDown := referenceApp(AdapterGuards{Required: newGuard(down), Optional: newGuard(down, jwtguard.WithCredentialsOptional()), Ran: &refRan})
	appDown := build(AdapterGuards{Required: newGuard(down), Optional: newGuard(down, jwtguard.WithCredentialsOptional()), Ran: &appRan})

	claims := func(extra Claims) Claims {
		c := Claims{"sub": "alice", "aud": AdapterAudience}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	valid := iss.Sign(claims(Claims{"scope": "orders:read"}))
	tests := []struct {
		name    string
		path    string
		auth    string // Authorization header; "" for none
		down    bool
		wantRun bool
		status  int
	}{
		{"valid", "/api/me", "Bearer " + valid, false, true, 200},
		{"no token", "/api/me", "", false, false, 401},
		{"expired", "/api/me", "Bearer " + iss.Sign(claims(Claims{"exp": time.Now().Add(-time.Hour).Unix()})), false, false, 401},
		{"wrong audience", "/api/me", "Bearer " + iss.Sign(claims(Claims{"aud": "other"})), false, false, 401},
		{"bad signature", "/api/me", "Bearer " + valid[:len(valid)-4] + "AAAA", false, false, 401},
		{"garbage", "/api/me", "Bearer not.a.jwt", false, false, 401},
		{"malformed header", "/api/me", "Bearer a b", false, false, 400},
		{"scope ok", "/api/orders", "Bearer " + valid, false, true, 200},
		{"scope missing", "/api/orders", "Bearer " + iss.Sign(claims(nil)), false, false, 403},
		{"handler error propagates", "/api/fail", "Bearer " + valid, false, true, 418},
		{"optional, anonymous", "/optional", "", false, true, 200},
		{"optional, valid", "/optional", "Bearer " + valid, false, true, 200},
		{"optional, invalid", "/optional", "Bearer not.a.jwt", false, false, 401},
		{"public route", "/public", "", false, false, 200},
		{"keys unavailable", "/api/me", "Bearer " + down.Sign(claims(nil)), true, false, 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := func() *http.Request {
				r := httptest.NewRequestWithContext(context.Background(), http.MethodGet, tc.path, nil)
				if tc.auth != "" {
					r.Header.Set("Authorization", tc.auth)
				}
				return r
			}
			refH, appH := ref, app
			if tc.down {
				refH, appH = refDown, appDown
			}
			before := appRan.Load()
			want := httptest.NewRecorder()
			refH.ServeHTTP(want, req())
			got := httptest.NewRecorder()
			appH.ServeHTTP(got, req())
			if want.Code != tc.status {
				t.Fatalf("reference status = %d, want %d (suite bug)", want.Code, tc.status)
			}
			if got.Code != want.Code {
				t.Fatalf("status = %d, want %d; body %q", got.Code, want.Code, got.Body)
			}
			if g, w := got.Header().Get("WWW-Authenticate"), want.Header().Get("WWW-Authenticate"); g != w {
				t.Errorf("WWW-Authenticate = %q, want %q", g, w)
			}
			// Retry-After counts down from each guard's own backoff, so only its presence must match.
			if g, w := got.Header().Get("Retry-After"), want.Header().Get("Retry-After"); (g == "") != (w == "") {
				t.Errorf("Retry-After = %q, want %q", g, w)
			}
			if tc.status != 418 { // the 418 body is the framework's own error rendering
				if g, w := strings.TrimSpace(got.Body.String()), strings.TrimSpace(want.Body.String()); g != w {
					t.Errorf("body = %q, want %q", g, w)
				}
				if g, w := got.Header().Get("Content-Type"), want.Header().Get("Content-Type"); tc.status >= 400 && !strings.HasPrefix(g, w) {
					t.Errorf("Content-Type = %q, want %q", g, w)
				}
			}
			if ran := appRan.Load() - before; (ran > 0) != tc.wantRun {
				t.Fatalf("protected handler ran %d times, want ran=%v", ran, tc.wantRun)
			}
		})
	}
}

// referenceApp is the net/http version of the suite's app.
func referenceApp(g AdapterGuards) http.Handler {
	hello := func(w http.ResponseWriter, r *http.Request) {
		g.Ran.Add(1)
		c, ok := jwtguard.ClaimsFromContext(r.Context())
		if !ok {
			_, _ = w.Write([]byte("anonymous"))
			return
		}
		_, _ = w.Write([]byte("hello " + c.Subject()))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/me", g.Required.Handler(http.HandlerFunc(hello)))
	mux.Handle("GET /api/orders", g.Required.Handler(g.Required.RequireScopes("orders:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Ran.Add(1)
		_, _ = w.Write([]byte("orders"))
	}))))
	mux.Handle("GET /api/fail", g.Required.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Ran.Add(1)
		w.WriteHeader(http.StatusTeapot)
	})))
	mux.Handle("GET /optional", g.Optional.Handler(http.HandlerFunc(hello)))
	mux.HandleFunc("GET /public", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("public")) })
	return mux
}
