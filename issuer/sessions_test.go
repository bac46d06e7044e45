package issuer_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

type sessionApp struct {
	clock    *jwtguardtest.Clock
	sessions *issuer.Sessions
	guard    *jwtguard.Guard
	mux      *http.ServeMux
}

func newSessionApp(t *testing.T, opts ...issuer.SessionOption) *sessionApp {
	t.Helper()
	clock := newClock()
	iss, err := issuer.New("https://login.example", issuer.WithAudience("api"), issuer.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	s, err := issuer.NewSessions(iss, opts...)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := iss.JWKS()
	g, err := jwtguard.New(t.Context(), jwtguard.WithJWKSet(jwks), jwtguard.WithIssuer(iss.URL()), jwtguard.WithAudience("api"),
		jwtguard.WithClock(clock.Now), jwtguard.WithTokenSources(s.AccessCookie().Source()), jwtguard.WithValidator(s.Validator()))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/login", s.LoginHandler(func(r *http.Request) (string, map[string]any, error) {
		if r.PostFormValue("user") == "alice" && r.PostFormValue("password") == "secret" {
			return "alice", map[string]any{"scope": "orders:read"}, nil
		}
		return "", nil, issuer.ErrInvalidCredentials
	}))
	mux.Handle("/auth/refresh", s.RefreshHandler())
	mux.Handle("/auth/logout", s.LogoutHandler())
	mux.Handle("/app", g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.ClaimsFromContext(r.Context())
		_, _ = w.Write([]byte("hello " + c.Subject()))
	})))
	return &sessionApp{clock: clock, sessions: s, guard: g, mux: mux}
}

// jar is a minimal cookie jar keyed by name (one host, paths ignored:
// the handlers read only the cookies they need).
type jar map[string]string

func (a *sessionApp) do(t *testing.T, method, path string, cookies jar, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
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
	a.mux.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(cookies, c.Name)
		} else {
			cookies[c.Name] = c.Value
		}
	}
	return w
}

func login(t *testing.T, a *sessionApp) jar {
	t.Helper()
	cookies := jar{}
	if w := a.do(t, "POST", "/auth/login", cookies, url.Values{"user": {"alice"}, "password": {"secret"}}); w.Code != 204 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	return cookies
}

func TestLoginSetsSafeCookies(t *testing.T) {
	t.Parallel()
	a := newSessionApp(t)
	cookies := jar{}
	if w := a.do(t, "POST", "/auth/login", cookies, url.Values{"user": {"alice"}, "password": {"wrong"}}); w.Code != 401 || len(cookies) != 0 {
		t.Fatalf("wrong password: %d, cookies %v", w.Code, cookies)
	}
	if w := a.do(t, "GET", "/auth/login", cookies, nil); w.Code != 405 {
		t.Fatalf("GET login: %d", w.Code)
	}
	w := a.do(t, "POST", "/auth/login", cookies, url.Values{"user": {"alice"}, "password": {"secret"}})
	var access, refresh *http.Cookie
	for _, c := range w.Result().Cookies() {
		switch c.Name {
		case "__Host-access_token":
			access = c
		case "__Secure-refresh_token":
			refresh = c
		}
	}
	if access == nil || !access.HttpOnly || !access.Secure || access.Path != "/" || access.SameSite != http.SameSiteLaxMode ||
		access.MaxAge < 295 || access.MaxAge > 300 {
		t.Fatalf("access cookie %+v", access)
	}
	if refresh == nil || !refresh.HttpOnly || !refresh.Secure || refresh.Path != "/auth" || refresh.SameSite != http.SameSiteStrictMode ||
		len(refresh.Value) < 43 || refresh.MaxAge < 24*3600-5 || refresh.MaxAge > 24*3600 {
		t.Fatalf("refresh cookie %+v (want 256-bit value, path-scoped, strict)", refresh)
	}
	if w := a.do(t, "GET", "/app", cookies, nil); w.Code != 200 || w.Body.String() != "hello alice" {
		t.Fatalf("app: %d %s", w.Code, w.Body)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	a := newSessionApp(t)
	cookies := login(t, a)
	first := cookies["__Secure-refresh_token"]
	if w := a.do(t, "POST", "/auth/refresh", cookies, nil); w.Code != 204 {
		t.Fatalf("refresh: %d", w.Code)
	}
	second := cookies["__Secure-refresh_token"]
	if second == "" || second == first {
		t.Fatal("refresh did not rotate the refresh token")
	}
	if w := a.do(t, "GET", "/app", cookies, nil); w.Code != 200 {
		t.Fatalf("app after refresh: %d", w.Code)
	}
	// The old refresh token comes back: theft. The whole family dies.
	stolen := jar{"__Secure-refresh_token": first}
	if w := a.do(t, "POST", "/auth/refresh", stolen, nil); w.Code != 401 {
		t.Fatalf("reused refresh token: %d", w.Code)
	}
	if w := a.do(t, "POST", "/auth/refresh", cookies, nil); w.Code != 401 {
		t.Fatalf("family's live refresh token after reuse: %d, want 401", w.Code)
	}
	// The family's access token is refused at once, not at its expiry.
	if w := a.do(t, "GET", "/app", jar{"__Host-access_token": cookiesAccess(t, a)}, nil); w.Code != 200 {
		t.Fatalf("a new login must still work: %d", w.Code)
	}
}

// cookiesAccess logs in afresh and returns the access token.
func cookiesAccess(t *testing.T, a *sessionApp) string {
	return login(t, a)["__Host-access_token"]
}

func TestReuseRevokesAccessTokens(t *testing.T) {
	t.Parallel()
	a := newSessionApp(t)
	cookies := login(t, a)
	first := cookies["__Secure-refresh_token"]
	a.do(t, "POST", "/auth/refresh", cookies, nil)
	access := cookies["__Host-access_token"]
	a.do(t, "POST", "/auth/refresh", jar{"__Secure-refresh_token": first}, nil)
	w := a.do(t, "GET", "/app", jar{"__Host-access_token": access}, nil)
	if w.Code != 401 {
		t.Fatalf("access token of a revoked session: %d, want 401", w.Code)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	a := newSessionApp(t)
	cookies := login(t, a)
	access := cookies["__Host-access_token"]
	refresh := cookies["__Secure-refresh_token"]
	if w := a.do(t, "POST", "/auth/logout", cookies, nil); w.Code != 204 || len(cookies) != 0 {
		t.Fatalf("logout: %d, cookies left %v", w.Code, cookies)
	}
	if w := a.do(t, "GET", "/app", cookies, nil); w.Code != 401 {
		t.Fatalf("app after logout: %d", w.Code)
	}
	// Copies of the tokens taken before logout are dead too.
	if w := a.do(t, "GET", "/app", jar{"__Host-access_token": access}, nil); w.Code != 401 {
		t.Fatalf("copied access token after logout: %d", w.Code)
	}
	if w := a.do(t, "POST", "/auth/refresh", jar{"__Secure-refresh_token": refresh}, nil); w.Code != 401 {
		t.Fatalf("copied refresh token after logout: %d", w.Code)
	}
}

func TestRefreshLifetimes(t *testing.T) {
	t.Parallel()
	a := newSessionApp(t, issuer.WithRefreshLifetimes(time.Hour, 3*time.Hour))
	cookies := login(t, a)
	a.clock.Add(59 * time.Minute)
	if w := a.do(t, "POST", "/auth/refresh", cookies, nil); w.Code != 204 {
		t.Fatalf("within idle lifetime: %d", w.Code)
	}
	a.clock.Add(61 * time.Minute)
	if w := a.do(t, "POST", "/auth/refresh", cookies, nil); w.Code != 401 {
		t.Fatalf("past idle lifetime: %d", w.Code)
	}
	cookies = login(t, a)
	for range 3 { // keep it alive past the absolute lifetime
		a.clock.Add(59 * time.Minute)
		a.do(t, "POST", "/auth/refresh", cookies, nil)
	}
	a.clock.Add(5 * time.Minute)
	if w := a.do(t, "POST", "/auth/refresh", cookies, nil); w.Code != 401 {
		t.Fatalf("past absolute lifetime: %d", w.Code)
	}
}

func TestConcurrentRefreshSpendsOnce(t *testing.T) {
	t.Parallel()
	a := newSessionApp(t)
	cookies := login(t, a)
	token := cookies["__Secure-refresh_token"]
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if w := a.do(t, "POST", "/auth/refresh", jar{"__Secure-refresh_token": token}, nil); w.Code == 204 {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d concurrent refreshes with one token succeeded, want 1", ok.Load())
	}
}

func TestSessionHandlersRefuseCrossOrigin(t *testing.T) {
	t.Parallel()
	a := newSessionApp(t)
	for _, path := range []string{"/auth/login", "/auth/refresh", "/auth/logout"} {
		r := httptest.NewRequest("POST", "https://app.example"+path, strings.NewReader("user=alice&password=secret"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		w := httptest.NewRecorder()
		a.mux.ServeHTTP(w, r)
		if w.Code != 403 || len(w.Result().Cookies()) != 0 {
			t.Errorf("cross-site POST %s: %d", path, w.Code)
		}
	}
}

func TestMemoryStoreUnknown(t *testing.T) {
	t.Parallel()
	s := issuer.NewMemoryStore(nil)
	if _, err := s.Use(t.Context(), [32]byte{1}); !errors.Is(err, issuer.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
}
