package jwtguardtest

import (
	"context"
	"encoding/json"
	"log/slog"
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
	Required *jwtguard.Guard // on /api/... and /injected/orders
	Optional *jwtguard.Guard // on /optional, built WithCredentialsOptional
	// Preflight is on /preflight/orders, built with
	// InsecurePassUnauthenticatedPreflight.
	Preflight *jwtguard.Guard
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
//	OPTIONS /api/me    the same as GET /api/me
//	GET /api/orders    Required guard, then the scope requirement "orders:read"; writes "orders"
//	GET /api/fail      Required guard; the handler fails in the framework's way with status 418
//	GET /optional      Optional guard; writes "hello <sub>" or "anonymous"
//	GET /public        no guard; writes "public"
//	GET, OPTIONS /preflight/orders
//	                   Preflight guard, then its scope requirement "orders:read"; writes "orders"
//	GET /injected      no guard; the handler of GET /api/me
//	GET /injected/orders
//	                   no guard, only the Required guard's scope requirement
//	                   "orders:read"; writes "orders"
//
// The suite sends CORS preflights (OPTIONS with Access-Control-Request-Method),
// which the Required guard refuses and the Preflight guard lets through both
// its middleware and its requirement, and requests whose context carries
// claims from jwtguard.NewContext, as a handler test would, which the
// framework's claims accessor and requirement middleware must see.
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
			jwtguard.WithKeySetSettings(jwtguard.KeySetSettings{FetchTimeout: 2 * time.Second}),
			jwtguard.WithLogger(slog.New(slog.DiscardHandler)), // the down issuer's key trouble is expected
		}, extra...)
		g, err := jwtguard.New(t.Context(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	guards := func(i *Issuer) AdapterGuards {
		return AdapterGuards{
			Required:  newGuard(i),
			Optional:  newGuard(i, jwtguard.WithCredentialsOptional()),
			Preflight: newGuard(i, jwtguard.InsecurePassUnauthenticatedPreflight()),
		}
	}
	var refRan, appRan atomic.Int64
	refGuards := guards(iss)
	refGuards.Ran = &refRan
	appGuards := refGuards
	appGuards.Ran = &appRan
	ref := referenceApp(refGuards)
	app := build(appGuards)
	// Guards whose keys cannot load, for the 503 path.
	refDownGuards, appDownGuards := guards(down), guards(down)
	refDownGuards.Ran, appDownGuards.Ran = &refRan, &appRan
	refDown := referenceApp(refDownGuards)
	appDown := build(appDownGuards)

	claims := func(extra Claims) Claims {
		c := Claims{"sub": "alice", "aud": AdapterAudience}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	// inject builds the claims a handler test puts into a request's
	// context with jwtguard.NewContext.
	inject := func(c Claims) *jwtguard.Claims {
		payload, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := jwtguard.ClaimsFromJSON(payload)
		if err != nil {
			t.Fatal(err)
		}
		return parsed
	}
	valid := iss.Sign(claims(Claims{"scope": "orders:read"}))
	const (
		get       = http.MethodGet
		options   = http.MethodOptions
		preflight = "preflight" // OPTIONS with CORS preflight headers
	)
	tests := []struct {
		name    string
		method  string // get, options or preflight
		path    string
		auth    string           // Authorization header; "" for none
		inject  *jwtguard.Claims // put into the request's context with NewContext; nil for none
		down    bool
		wantRun bool
		status  int
	}{
		{"valid", get, "/api/me", "Bearer " + valid, nil, false, true, 200},
		{"no token", get, "/api/me", "", nil, false, false, 401},
		{"expired", get, "/api/me", "Bearer " + iss.Sign(claims(Claims{"exp": time.Now().Add(-time.Hour).Unix()})), nil, false, false, 401},
		{"wrong audience", get, "/api/me", "Bearer " + iss.Sign(claims(Claims{"aud": "other"})), nil, false, false, 401},
		{"bad signature", get, "/api/me", "Bearer " + valid[:len(valid)-4] + "AAAA", nil, false, false, 401},
		{"garbage", get, "/api/me", "Bearer not.a.jwt", nil, false, false, 401},
		{"malformed header", get, "/api/me", "Bearer a b", nil, false, false, 400},
		{"scope ok", get, "/api/orders", "Bearer " + valid, nil, false, true, 200},
		{"scope missing", get, "/api/orders", "Bearer " + iss.Sign(claims(nil)), nil, false, false, 403},
		{"handler error propagates", get, "/api/fail", "Bearer " + valid, nil, false, true, 418},
		{"optional, anonymous", get, "/optional", "", nil, false, true, 200},
		{"optional, valid", get, "/optional", "Bearer " + valid, nil, false, true, 200},
		{"optional, invalid", get, "/optional", "Bearer not.a.jwt", nil, false, false, 401},
		{"public route", get, "/public", "", nil, false, false, 200},
		{"keys unavailable", get, "/api/me", "Bearer " + down.Sign(claims(nil)), nil, true, false, 503},

		{"preflight refused by default", preflight, "/api/me", "", nil, false, false, 401},
		{"preflight with a token", preflight, "/api/me", "Bearer " + valid, nil, false, true, 200},
		{"preflight passed by the insecure option", preflight, "/preflight/orders", "", nil, false, true, 200},
		{"insecure option: plain OPTIONS needs a token", options, "/preflight/orders", "", nil, false, false, 401},
		{"insecure option: GET needs a token", get, "/preflight/orders", "", nil, false, false, 401},
		{"insecure option: GET with a token", get, "/preflight/orders", "Bearer " + valid, nil, false, true, 200},
		{"insecure option: preflight with a bad token", preflight, "/preflight/orders", "Bearer not.a.jwt", nil, false, true, 200},

		{"injected claims seen by the accessor", get, "/injected", "", inject(claims(nil)), false, true, 200},
		{"no injected claims", get, "/injected", "", nil, false, true, 200},
		{"injected claims meet a requirement", get, "/injected/orders", "", inject(claims(Claims{"scope": "orders:read"})), false, true, 200},
		{"injected claims miss a requirement", get, "/injected/orders", "", inject(claims(nil)), false, false, 403},
		{"requirement without claims", get, "/injected/orders", "", nil, false, false, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := func() *http.Request {
				ctx := context.Background()
				if tc.inject != nil {
					ctx = jwtguard.NewContext(ctx, tc.inject)
				}
				method := tc.method
				if method == preflight {
					method = http.MethodOptions
				}
				r := httptest.NewRequestWithContext(ctx, method, tc.path, nil)
				if tc.method == preflight {
					r.Header.Set("Origin", "https://app.example")
					r.Header.Set("Access-Control-Request-Method", http.MethodGet)
				}
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
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Ran.Add(1)
		_, _ = w.Write([]byte("orders"))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /api/me", g.Required.Handler(http.HandlerFunc(hello)))
	mux.Handle("OPTIONS /api/me", g.Required.Handler(http.HandlerFunc(hello)))
	mux.Handle("GET /api/orders", g.Required.Handler(g.Required.RequireScopes("orders:read")(orders)))
	mux.Handle("GET /api/fail", g.Required.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Ran.Add(1)
		w.WriteHeader(http.StatusTeapot)
	})))
	mux.Handle("GET /optional", g.Optional.Handler(http.HandlerFunc(hello)))
	mux.HandleFunc("GET /public", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("public")) })
	preflight := g.Preflight.Handler(g.Preflight.RequireScopes("orders:read")(orders))
	mux.Handle("GET /preflight/orders", preflight)
	mux.Handle("OPTIONS /preflight/orders", preflight)
	mux.HandleFunc("GET /injected", hello)
	mux.Handle("GET /injected/orders", g.Required.RequireScopes("orders:read")(orders))
	return mux
}
