package issuer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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
	iss      *issuer.Issuer
	sessions *issuer.Sessions
	guard    *jwtguard.Guard
	mux      *http.ServeMux
}

func newSessionApp(t testing.TB, opts ...issuer.SessionOption) *sessionApp {
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
		jwtguard.WithClock(clock.Now), jwtguard.WithExtractors(s.AccessCookie().Extractor()), jwtguard.WithRevocations(s.Revoker()))
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
	return &sessionApp{clock: clock, iss: iss, sessions: s, guard: g, mux: mux}
}

// jar is a minimal cookie jar keyed by name (one host, paths ignored:
// the handlers read only the cookies they need).
type jar map[string]string

func (a *sessionApp) do(t testing.TB, method, path string, cookies jar, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var list []*http.Cookie
	for name, v := range cookies {
		list = append(list, &http.Cookie{Name: name, Value: v})
	}
	w := a.send(t, method, path, list, form)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(cookies, c.Name)
		} else {
			cookies[c.Name] = c.Value
		}
	}
	return w
}

// send makes a same-origin request with cookies in the given order.
func (a *sessionApp) send(t testing.TB, method, path string, cookies []*http.Cookie, form url.Values) *httptest.ResponseRecorder {
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
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	a.mux.ServeHTTP(w, r)
	return w
}

func login(t testing.TB, a *sessionApp) jar {
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
	var access, refresh, binding *http.Cookie
	for _, c := range w.Result().Cookies() {
		switch c.Name {
		case "__Host-access_token":
			access = c
		case "__Secure-refresh_token":
			refresh = c
		case "__Host-session_binding":
			binding = c
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
	if binding == nil || !binding.HttpOnly || !binding.Secure || binding.Path != "/" || binding.SameSite != http.SameSiteStrictMode ||
		len(binding.Value) < 43 || binding.MaxAge != refresh.MaxAge {
		t.Fatalf("binding cookie %+v (want 256-bit value, host-only, strict, living as long as the refresh cookie)", binding)
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
	// The old refresh token comes back after the grace window: theft. The
	// whole family dies.
	a.clock.Add(11 * time.Second)
	stolen := jar{"__Secure-refresh_token": first, bindingName: cookies[bindingName]}
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
	a.clock.Add(11 * time.Second) // past the grace window
	a.do(t, "POST", "/auth/refresh", jar{"__Secure-refresh_token": first, bindingName: cookies[bindingName]}, nil)
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
	copied := cookies.refreshing()
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
	if w := a.do(t, "POST", "/auth/refresh", copied, nil); w.Code != 401 {
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

// TestConcurrentRefreshSpendsOnce: of many concurrent refreshes with one
// token, one exchanges it and, within the grace window, one more; the rest
// are reuse and revoke the family.
func TestConcurrentRefreshSpendsOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   []issuer.SessionOption
		wantOK int64
	}{
		{"grace window", nil, 2},
		{"no grace window", []issuer.SessionOption{issuer.WithRefreshGrace(0)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newSessionApp(t, tc.opts...)
			cookies := login(t, a)
			token := cookies.refreshing()
			var ok atomic.Int64
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					if w := a.do(t, "POST", "/auth/refresh", token.clone(), nil); w.Code == 204 {
						ok.Add(1)
					}
				})
			}
			wg.Wait()
			if ok.Load() != tc.wantOK {
				t.Fatalf("%d concurrent refreshes with one token succeeded, want %d", ok.Load(), tc.wantOK)
			}
			if w := a.do(t, "GET", "/app", cookies, nil); w.Code != 401 {
				t.Fatalf("session after 18 reuses: %d, want 401 (revoked)", w.Code)
			}
		})
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
	if _, err := s.Use(t.Context(), [32]byte{1}, time.Now()); !errors.Is(err, issuer.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
}

const (
	accessName  = "__Host-access_token"
	refreshName = "__Secure-refresh_token"
	bindingName = "__Host-session_binding"
)

// refreshing is what a refresh needs of a browser's cookies: the refresh
// token and the binding.
func (j jar) refreshing() jar { return jar{refreshName: j[refreshName], bindingName: j[bindingName]} }

// clearsBoth reports whether a response deletes the session cookies.
func clearsBoth(w *httptest.ResponseRecorder) bool {
	cleared := map[string]bool{}
	for _, c := range w.Result().Cookies() {
		cleared[c.Name] = c.MaxAge < 0
	}
	return cleared[accessName] && cleared[refreshName] && cleared[bindingName]
}

// TestRefreshCookieTossing: a sibling subdomain plants its own refresh
// cookie, which the browser sends first. The planted token is unknown
// under the victim's binding: the handlers use the victim's own, and the
// planted one is not spent. Two binding cookies (only plantable without
// the "__Host-" prefix) or too many refresh cookies are refused with 401,
// leaving every cookie as it is.
func TestRefreshCookieTossing(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/auth/refresh", "/auth/logout"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			a := newSessionApp(t)
			attacker := login(t, a)
			victim := login(t, a)
			cookies := []*http.Cookie{
				{Name: refreshName, Value: attacker[refreshName]}, // planted for the parent domain: sent first
				{Name: refreshName, Value: victim[refreshName]},
				{Name: accessName, Value: victim[accessName]},
				{Name: bindingName, Value: victim[bindingName]},
			}
			w := a.send(t, "POST", path, cookies, nil)
			if w.Code != 204 {
				t.Fatalf("the victim's cookies beside a planted one: %d %s; want 204", w.Code, w.Body)
			}
			// The planted token was not spent: it still works for its owner.
			if w := a.do(t, "POST", "/auth/refresh", attacker.refreshing(), nil); w.Code != 204 {
				t.Fatalf("planted token afterwards: %d, want 204 (unspent)", w.Code)
			}
			if path == "/auth/logout" {
				if w := a.do(t, "GET", "/app", jar{accessName: victim[accessName]}, nil); w.Code != 401 {
					t.Fatalf("victim's access token after logout: %d, want 401", w.Code)
				}
				if w := a.do(t, "POST", "/auth/refresh", victim.refreshing(), nil); w.Code != 401 {
					t.Fatalf("victim's refresh token after logout: %d, want 401", w.Code)
				}
				return
			}
			// The refresh went on with the victim's session and binding.
			next := jar{bindingName: victim[bindingName]}
			for _, c := range w.Result().Cookies() {
				next[c.Name] = c.Value
			}
			if next[refreshName] == "" || next[refreshName] == victim[refreshName] {
				t.Fatalf("refresh set no new refresh cookie: %v", w.Result().Cookies())
			}
			if w := a.do(t, "POST", "/auth/refresh", next.refreshing(), nil); w.Code != 204 {
				t.Fatalf("the victim's next refresh: %d, want 204", w.Code)
			}
		})
	}
	for _, tc := range []struct {
		name    string
		cookies func(attacker, victim jar) []*http.Cookie
	}{
		{"two binding cookies", func(attacker, victim jar) []*http.Cookie {
			return []*http.Cookie{{Name: bindingName, Value: attacker[bindingName]}, {Name: refreshName, Value: attacker[refreshName]},
				{Name: bindingName, Value: victim[bindingName]}, {Name: refreshName, Value: victim[refreshName]}}
		}},
		{"too many refresh cookies", func(attacker, victim jar) []*http.Cookie {
			list := []*http.Cookie{{Name: bindingName, Value: victim[bindingName]}}
			for range 4 {
				list = append(list, &http.Cookie{Name: refreshName, Value: attacker[refreshName]})
			}
			return append(list, &http.Cookie{Name: refreshName, Value: victim[refreshName]})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, path := range []string{"/auth/refresh", "/auth/logout"} {
				a := newSessionApp(t)
				attacker, victim := login(t, a), login(t, a)
				w := a.send(t, "POST", path, tc.cookies(attacker, victim), nil)
				if w.Code != 401 || !strings.Contains(w.Body.String(), `"invalid_grant"`) || len(w.Result().Cookies()) != 0 {
					t.Fatalf("%s: %d %s, cookies %v; want 401 invalid_grant, no cookie touched", path, w.Code, w.Body, w.Result().Cookies())
				}
				for who, j := range map[string]jar{"attacker": attacker, "victim": victim} {
					if w := a.do(t, "POST", "/auth/refresh", j.refreshing(), nil); w.Code != 204 {
						t.Fatalf("%s: %s's token afterwards: %d, want 204 (unspent)", path, who, w.Code)
					}
				}
			}
		})
	}
}

// forge returns a token with the header and payload of genuine and a
// signature by key, or none for alg "none".
func forge(t *testing.T, genuine, alg string, key *ecdsa.PrivateKey) string {
	t.Helper()
	parts := strings.Split(genuine, ".")
	enc := base64.RawURLEncoding
	if alg == "none" {
		return enc.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + "."
	}
	input := parts[0] + "." + parts[1]
	h := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc.EncodeToString(sig)
}

// TestLogoutRevokesByAccessToken: logout without the refresh cookie (tossed
// away, cleared, or never sent) ends the session through the access
// token's sid, but only a token that verifies: a forged sid logs nobody out.
func TestLogoutRevokesByAccessToken(t *testing.T) {
	t.Parallel()
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		access      func(genuine, other string) string
		wantRevoked bool
	}{
		{"genuine access token", func(g, _ string) string { return g }, true},
		{"signature of another token", func(g, o string) string {
			return g[:strings.LastIndexByte(g, '.')] + o[strings.LastIndexByte(o, '.'):]
		}, false},
		{"signed by another key", func(g, _ string) string { return forge(t, g, "ES256", otherKey) }, false},
		{"alg none", func(g, _ string) string { return forge(t, g, "none", nil) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newSessionApp(t)
			victim := login(t, a)
			other := login(t, a)
			w := a.send(t, "POST", "/auth/logout", []*http.Cookie{{Name: accessName, Value: tc.access(victim[accessName], other[accessName])}}, nil)
			if w.Code != 204 || !clearsBoth(w) {
				t.Fatalf("logout: %d, cookies %v", w.Code, w.Result().Cookies())
			}
			wantApp, wantRefresh := 200, 204
			if tc.wantRevoked {
				wantApp, wantRefresh = 401, 401
			}
			if w := a.do(t, "GET", "/app", jar{accessName: victim[accessName]}, nil); w.Code != wantApp {
				t.Errorf("victim's access token after logout: %d, want %d", w.Code, wantApp)
			}
			if w := a.do(t, "POST", "/auth/refresh", victim.refreshing(), nil); w.Code != wantRefresh {
				t.Errorf("victim's refresh token after logout: %d, want %d", w.Code, wantRefresh)
			}
		})
	}
}

// TestLoginEndsPreviousSession: a login from a browser that still holds a
// session revokes that session, whichever of its cookies it still sends.
func TestLoginEndsPreviousSession(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		send []string
	}{
		{"all cookies", []string{accessName, refreshName, bindingName}},
		{"refresh cookies only", []string{refreshName, bindingName}},
		{"access cookie only", []string{accessName}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newSessionApp(t)
			old := login(t, a)
			cookies := jar{}
			for _, name := range tc.send {
				cookies[name] = old[name]
			}
			if w := a.do(t, "POST", "/auth/login", cookies, url.Values{"user": {"alice"}, "password": {"secret"}}); w.Code != 204 {
				t.Fatalf("second login: %d", w.Code)
			}
			if w := a.do(t, "GET", "/app", jar{accessName: old[accessName]}, nil); w.Code != 401 {
				t.Errorf("old session's access token after a new login: %d, want 401", w.Code)
			}
			if w := a.do(t, "POST", "/auth/refresh", old.refreshing(), nil); w.Code != 401 {
				t.Errorf("old session's refresh token after a new login: %d, want 401", w.Code)
			}
			if w := a.do(t, "POST", "/auth/refresh", cookies, nil); w.Code != 204 {
				t.Errorf("new session: refresh %d", w.Code)
			}
			if w := a.do(t, "GET", "/app", cookies, nil); w.Code != 200 {
				t.Errorf("new session: app %d", w.Code)
			}
		})
	}
}

// TestRefreshGrace: a second exchange of a refresh token within the grace
// window (another tab) gets a session of its own; anything more revokes the
// family, and sibling sessions cannot both live on.
func TestRefreshGrace(t *testing.T) {
	t.Parallel()
	type step struct {
		wait      time.Duration // clock advance before the step
		use, keep string        // the refresh token presented; where to keep its successor
		want      int
	}
	for _, tc := range []struct {
		name      string
		opts      []issuer.SessionOption
		steps     []step
		wantAlive bool // the last session handed out still works
	}{
		{"second tab within the window", nil, []step{
			{0, "login", "A", 204}, {2 * time.Second, "login", "B", 204}, {0, "B", "C", 204},
		}, true},
		{"first tab keeps going too", nil, []step{
			{0, "login", "A", 204}, {9 * time.Second, "login", "B", 204}, {0, "A", "C", 204},
		}, true},
		{"late tab joins the newest generation", nil, []step{
			{0, "login", "A", 204}, {time.Second, "A", "B", 204}, {3 * time.Second, "login", "C", 204}, {0, "C", "D", 204},
		}, true},
		{"reuse after the window", nil, []step{
			{0, "login", "A", 204}, {10 * time.Second, "login", "", 401}, {0, "A", "", 401},
		}, false},
		{"second reuse within the window", nil, []step{
			{0, "login", "A", 204}, {time.Second, "login", "B", 204}, {time.Second, "login", "", 401}, {0, "B", "", 401},
		}, false},
		{"siblings converge", nil, []step{
			{0, "login", "A", 204}, {0, "login", "B", 204}, {0, "A", "C", 204}, {0, "B", "", 401}, {0, "C", "", 401},
		}, false},
		{"sibling refreshed first", nil, []step{
			{0, "login", "A", 204}, {0, "login", "B", 204}, {0, "B", "C", 204}, {0, "A", "", 401}, {0, "C", "", 401},
		}, false},
		{"longer window", []issuer.SessionOption{issuer.WithRefreshGrace(30 * time.Second)}, []step{
			{0, "login", "A", 204}, {29 * time.Second, "login", "B", 204}, {0, "B", "C", 204},
		}, true},
		{"no window", []issuer.SessionOption{issuer.WithRefreshGrace(0)}, []step{
			{0, "login", "A", 204}, {0, "login", "", 401}, {0, "A", "", 401},
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newSessionApp(t, tc.opts...)
			sessions := map[string]jar{"login": login(t, a)}
			last := sessions["login"]
			for i, st := range tc.steps {
				a.clock.Add(st.wait)
				cookies := sessions[st.use].refreshing()
				if w := a.do(t, "POST", "/auth/refresh", cookies, nil); w.Code != st.want {
					t.Fatalf("step %d: refresh with %s: %d, want %d", i, st.use, w.Code, st.want)
				}
				if st.keep != "" {
					sessions[st.keep], last = cookies, cookies
				}
			}
			want := 401
			if tc.wantAlive {
				want = 200
			}
			if w := a.do(t, "GET", "/app", jar{accessName: last[accessName]}, nil); w.Code != want {
				t.Fatalf("latest session's access token: %d, want %d", w.Code, want)
			}
		})
	}
}

// TestTwoTabsRefreshAtOnce: two truly concurrent refreshes with one token
// both succeed, and the session goes on with the cookie the browser kept.
func TestTwoTabsRefreshAtOnce(t *testing.T) {
	t.Parallel()
	a := newSessionApp(t)
	start := login(t, a).refreshing()
	token := start[refreshName]
	var tabs [2]jar
	var wg sync.WaitGroup
	for i := range tabs {
		tabs[i] = start.clone()
		wg.Go(func() { a.do(t, "POST", "/auth/refresh", tabs[i], nil) })
	}
	wg.Wait()
	for i, tab := range tabs {
		if tab[refreshName] == "" || tab[refreshName] == token {
			t.Fatalf("tab %d was logged out or not rotated: %v", i, tab)
		}
	}
	kept := tabs[1] // the response that arrived last
	if w := a.do(t, "POST", "/auth/refresh", kept, nil); w.Code != 204 {
		t.Fatalf("refresh after the race: %d", w.Code)
	}
	if w := a.do(t, "GET", "/app", kept, nil); w.Code != 200 {
		t.Fatalf("app after the race: %d", w.Code)
	}
}

// TestLoginThrottle: the throttle runs before the credential check; a
// refusal is 429 with Retry-After in whole seconds, rounded up.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		user, password string
		wantStatus     int
		wantRetry      string
	}{
		{"alice", "secret", 204, ""},
		{"mallory", "secret", 429, "3"},
		{"eve", "secret", 429, "1"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			t.Parallel()
			var seen atomic.Value
			a := newSessionApp(t, issuer.WithLoginThrottle(func(r *http.Request) (bool, time.Duration) {
				user := r.PostFormValue("user") // reading the form leaves it for the check
				seen.Store(user)
				switch user {
				case "mallory":
					return false, 2500 * time.Millisecond
				case "eve":
					return false, 0
				}
				return true, 0
			}))
			cookies := jar{}
			w := a.do(t, "POST", "/auth/login", cookies, url.Values{"user": {tc.user}, "password": {tc.password}})
			if w.Code != tc.wantStatus || w.Header().Get("Retry-After") != tc.wantRetry {
				t.Fatalf("login: %d Retry-After %q, want %d %q", w.Code, w.Header().Get("Retry-After"), tc.wantStatus, tc.wantRetry)
			}
			if seen.Load() != tc.user {
				t.Fatalf("throttle saw user %v", seen.Load())
			}
			if (tc.wantStatus == 204) != (len(cookies) == 3) {
				t.Fatalf("cookies after login: %v", cookies)
			}
		})
	}
	if _, err := issuer.NewSessions(mustIssuer(t), issuer.WithLoginThrottle(nil)); !errors.Is(err, issuer.ErrConfig) {
		t.Fatalf("nil throttle: %v", err)
	}
}

func mustIssuer(t *testing.T) *issuer.Issuer {
	t.Helper()
	iss, err := issuer.New("https://login.example")
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// flakyStore is a MemoryStore whose reads can be made to fail.
type flakyStore struct {
	*issuer.MemoryStore
	down atomic.Bool
}

var errStoreDown = errors.New("store down")

func (f *flakyStore) FamilyRevoked(ctx context.Context, family string) (bool, error) {
	if f.down.Load() {
		return false, errStoreDown
	}
	return f.MemoryStore.FamilyRevoked(ctx, family)
}

func (f *flakyStore) Use(ctx context.Context, hash [32]byte, now time.Time) (issuer.RefreshRecord, error) {
	if f.down.Load() {
		return issuer.RefreshRecord{}, errStoreDown
	}
	return f.MemoryStore.Use(ctx, hash, now)
}

// TestSessionStoreDown: when the store cannot answer, refresh fails closed
// with 503 and keeps the cookies, so a retry can succeed; access tokens
// already issued keep working, as the guard asks only the revocations, in
// memory. The deprecated Validator, which asks the store, refuses session
// tokens with 503 (fail closed, and retryable: not a bad token) and lets
// tokens without a sid through.
func TestSessionStoreDown(t *testing.T) {
	t.Parallel()
	store := &flakyStore{MemoryStore: issuer.NewMemoryStore(nil)}
	a := newSessionApp(t, issuer.WithStore(store))
	cookies := login(t, a)
	plain, _, err := a.iss.Issue("bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := a.iss.JWKS()
	validated, err := jwtguard.New(t.Context(), jwtguard.WithJWKSet(jwks), jwtguard.WithIssuer(a.iss.URL()), jwtguard.WithAudience("api"),
		jwtguard.WithClock(a.clock.Now), jwtguard.WithExtractors(a.sessions.AccessCookie().Extractor()),
		jwtguard.WithValidator(a.sessions.Validator()))
	if err != nil {
		t.Fatal(err)
	}
	viaValidator := func(access string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "https://app.example/app", nil)
		r.AddCookie(&http.Cookie{Name: accessName, Value: access})
		w := httptest.NewRecorder()
		validated.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(w, r)
		return w
	}
	store.down.Store(true)
	if w := a.do(t, "GET", "/app", cookies, nil); w.Code != 200 {
		t.Fatalf("session token, store down, Revoker: %d, want 200", w.Code)
	}
	if w := viaValidator(cookies[accessName]); w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("session token, store down, Validator: %d Retry-After %q, want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if w := viaValidator(plain); w.Code != 200 {
		t.Fatalf("token without sid, store down, Validator: %d, want 200", w.Code)
	}
	w := a.do(t, "POST", "/auth/refresh", cookies, nil)
	if w.Code != 503 || len(w.Result().Cookies()) != 0 {
		t.Fatalf("refresh, store down: %d, cookies %v; want 503, cookies kept", w.Code, w.Result().Cookies())
	}
	store.down.Store(false)
	if w := a.do(t, "POST", "/auth/refresh", cookies, nil); w.Code != 204 {
		t.Fatalf("refresh once the store is back: %d", w.Code)
	}
	// The deprecated Validator still sees logouts, through the store.
	access := cookies[accessName]
	a.do(t, "POST", "/auth/logout", cookies, nil)
	if w := viaValidator(access); w.Code != 401 {
		t.Fatalf("Validator after logout: %d, want 401", w.Code)
	}
}

// FuzzLogoutAccessCookie: whatever the access cookie holds, logout never
// panics and never ends a session it was not shown a genuine token of.
func FuzzLogoutAccessCookie(f *testing.F) {
	a := newSessionApp(f)
	victim := login(f, a)
	other := login(f, a)[accessName]
	parts := strings.Split(victim[accessName], ".")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + "." + parts[1] + other[strings.LastIndexByte(other, '.'):])
	f.Add(strings.Repeat(".", 3))
	f.Add("")
	f.Fuzz(func(t *testing.T, access string) {
		if access == victim[accessName] || strings.Trim(access, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != "" {
			return // the genuine token, or bytes no cookie can carry
		}
		a.send(t, "POST", "/auth/logout", []*http.Cookie{{Name: accessName, Value: access}}, nil)
		if w := a.do(t, "GET", "/app", jar{accessName: victim[accessName]}, nil); w.Code != 200 {
			t.Fatalf("logout with access cookie %q ended the victim's session: %d", access, w.Code)
		}
	})
}
