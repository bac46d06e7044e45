package jwtguardredis_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	jwtguardredis "github.com/jwtguard/jwtguard/redis"
	"github.com/redis/go-redis/v9"
)

const (
	issuerURL   = "https://login.example"
	accessName  = "__Host-access_token"
	refreshName = "__Secure-refresh_token"
	bindingName = "__Host-session_binding"
)

// fleet is what the instances of one test share: the signing key (so each
// verifies the others' tokens) and the clock (nil: the real one, for
// benchmarks that run long enough for tokens to age).
type fleet struct {
	key   crypto.Signer
	clock *jwtguardtest.Clock
}

func (f *fleet) now() time.Time {
	if f.clock == nil {
		return time.Now()
	}
	return f.clock.Now()
}

func newFleet(t testing.TB) *fleet {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &fleet{key: key, clock: jwtguardtest.NewClock(time.Now())}
}

// instance is one process of the fleet: its own issuer, store, mirror,
// sessions and guard, on a shared Redis.
type instance struct {
	name     string
	store    *jwtguardredis.Store
	mirror   *jwtguardredis.Mirror
	sessions *issuer.Sessions
	guard    *jwtguard.Guard
	mux      *http.ServeMux
}

type instanceConfig struct {
	session []issuer.SessionOption
	mirror  []jwtguardredis.MirrorOption
	wait    bool // wait for the mirror's first sync
}

func (f *fleet) instance(t testing.TB, name string, rdb redis.UniversalClient, cfg instanceConfig) *instance {
	t.Helper()
	iss, err := issuer.New(issuerURL, issuer.WithAudience("api"), issuer.WithClock(f.now), issuer.WithSigningKey(f.key))
	if err != nil {
		t.Fatal(err)
	}
	store, err := jwtguardredis.NewStore(rdb, jwtguardredis.WithClock(f.now))
	if err != nil {
		t.Fatal(err)
	}
	mirror, err := jwtguardredis.NewMirror(context.Background(), rdb,
		append([]jwtguardredis.MirrorOption{jwtguardredis.WithClock(f.now)}, cfg.mirror...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mirror.Close() })
	if cfg.wait {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := mirror.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sessions, err := issuer.NewSessions(iss, append([]issuer.SessionOption{issuer.WithStore(store), issuer.WithRevocations(mirror)}, cfg.session...)...)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := iss.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	guard, err := jwtguard.New(context.Background(), jwtguard.WithJWKSet(jwks), jwtguard.WithIssuer(issuerURL), jwtguard.WithAudience("api"),
		jwtguard.WithClock(f.now), jwtguard.WithExtractors(sessions.AccessCookie().Extractor()), jwtguard.WithRevocations(mirror))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/login", sessions.LoginHandler(func(r *http.Request) (string, map[string]any, error) {
		if user := r.PostFormValue("user"); user != "" && r.PostFormValue("password") == "secret" {
			return user, map[string]any{"scope": "orders:read"}, nil
		}
		return "", nil, issuer.ErrInvalidCredentials
	}))
	mux.Handle("/auth/refresh", sessions.RefreshHandler())
	mux.Handle("/auth/logout", sessions.LogoutHandler())
	mux.Handle("/app", guard.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.ClaimsFromContext(r.Context())
		_, _ = w.Write([]byte("hello " + c.Subject()))
	})))
	return &instance{name: name, store: store, mirror: mirror, sessions: sessions, guard: guard, mux: mux}
}

// jar is a browser's cookies by name.
type jar map[string]string

// refreshing is what a refresh needs of a browser's cookies: the refresh
// token and the binding it was issued with.
func (j jar) refreshing() jar { return jar{refreshName: j[refreshName], bindingName: j[bindingName]} }

func (j jar) clone() jar {
	c := jar{}
	for k, v := range j {
		c[k] = v
	}
	return c
}

// do sends a same-origin request with the jar's cookies and keeps the
// cookies the response sets.
func (in *instance) do(t testing.TB, method, path string, cookies jar, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	body := strings.NewReader("")
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "https://app.example"+path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	for name, v := range cookies {
		r.AddCookie(&http.Cookie{Name: name, Value: v})
	}
	w := httptest.NewRecorder()
	in.mux.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(cookies, c.Name)
		} else {
			cookies[c.Name] = c.Value
		}
	}
	return w
}

func (in *instance) login(t testing.TB, user string) jar {
	t.Helper()
	cookies := jar{}
	if w := in.do(t, "POST", "/auth/login", cookies, url.Values{"user": {user}, "password": {"secret"}}); w.Code != 204 {
		t.Fatalf("login on %s: %d %s", in.name, w.Code, w.Body)
	}
	return cookies
}

// app is the status of GET /app with just this access token.
func (in *instance) app(t testing.TB, access string) int {
	t.Helper()
	return in.do(t, "GET", "/app", jar{accessName: access}, nil).Code
}

// eventually polls f until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, f func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !f() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(2 * time.Millisecond) // polling for propagation, not timing it
	}
	return time.Since(start)
}

func isRevoked(err error) bool { return errors.Is(err, jwtguard.ErrRevoked) }
