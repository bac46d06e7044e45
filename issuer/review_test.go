package issuer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/issuer"
)

// Regression tests for an adversarial review of the session code.

// twoUsers serves a's sessions with a login for alice and mallory.
func twoUsers(a *sessionApp) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/auth/login", a.sessions.LoginHandler(func(r *http.Request) (string, map[string]any, error) {
		switch u := r.PostFormValue("user"); u {
		case "alice", "mallory":
			return u, nil, nil
		}
		return "", nil, issuer.ErrInvalidCredentials
	}))
	mux.Handle("/auth/refresh", a.sessions.RefreshHandler())
	mux.Handle("/auth/logout", a.sessions.LogoutHandler())
	mux.Handle("/app", a.mux)
	return mux
}

// jarBrowser is a real cookie jar (domain, path and host-only rules) in
// front of a handler at https://app.example.com.
type jarBrowser struct {
	jar *cookiejar.Jar
	h   http.Handler
}

func newJarBrowser(t *testing.T, h http.Handler) *jarBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &jarBrowser{jar: jar, h: h}
}

func (b *jarBrowser) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	u := &url.URL{Scheme: "https", Host: "app.example.com", Path: path}
	body := ""
	if form != nil {
		body = form.Encode()
	}
	r := httptest.NewRequest(method, u.String(), strings.NewReader(body))
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range b.jar.Cookies(u) {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, r)
	b.jar.SetCookies(u, w.Result().Cookies())
	return w
}

func (b *jarBrowser) cookie(name string) string {
	for _, c := range b.jar.Cookies(&url.URL{Scheme: "https", Host: "app.example.com", Path: "/auth/refresh"}) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// plant sets a refresh cookie for the parent domain, as a sibling
// subdomain can (it cannot plant "__Host-" cookies).
func (b *jarBrowser) plant(value string) {
	evil := &url.URL{Scheme: "https", Host: "evil.example.com", Path: "/"}
	b.jar.SetCookies(evil, []*http.Cookie{{Name: refreshName, Value: value,
		Domain: "example.com", Path: "/auth", Secure: true, HttpOnly: true, MaxAge: 3600}})
}

// TestTossedRefreshCookieCannotSwapAccount: a sibling subdomain plants its
// own refresh cookie (cookie tossing) into a browser with a session, or
// into one without. Neither browser ever ends up in the planter's account,
// and the victim's own session goes on.
func TestTossedRefreshCookieCannotSwapAccount(t *testing.T) {
	t.Parallel()
	a := newSessionApp(t)
	mux := twoUsers(a)
	mallory := newJarBrowser(t, mux)
	if w := mallory.do("POST", "/auth/login", url.Values{"user": {"mallory"}}); w.Code != 204 {
		t.Fatalf("mallory login: %d", w.Code)
	}
	planted := mallory.cookie(refreshName)

	t.Run("browser with a session", func(t *testing.T) {
		alice := newJarBrowser(t, mux)
		if w := alice.do("POST", "/auth/login", url.Values{"user": {"alice"}}); w.Code != 204 {
			t.Fatalf("alice login: %d", w.Code)
		}
		alice.plant(planted)
		for i := range 3 {
			alice.do("POST", "/auth/refresh", nil)
			if w := alice.do("GET", "/app", nil); strings.Contains(w.Body.String(), "mallory") {
				t.Fatalf("after refresh %d alice's browser is logged in as mallory (%d %q)", i, w.Code, w.Body)
			}
		}
		if w := alice.do("POST", "/auth/logout", nil); w.Code != 204 {
			t.Fatalf("logout with a planted cookie beside alice's: %d", w.Code)
		}
		if w := alice.do("POST", "/auth/refresh", nil); w.Code == 204 {
			t.Fatal("refresh after logout succeeded")
		}
	})
	t.Run("browser without a session", func(t *testing.T) {
		fresh := newJarBrowser(t, mux)
		fresh.plant(planted)
		fresh.do("POST", "/auth/refresh", nil)
		if w := fresh.do("GET", "/app", nil); strings.Contains(w.Body.String(), "mallory") {
			t.Fatalf("a browser without a session was logged into mallory's by a planted cookie (%d %q)", w.Code, w.Body)
		}
	})
	// The planted token was never spent by the victims: it works for its owner.
	if w := mallory.do("POST", "/auth/refresh", nil); w.Code != 204 {
		t.Fatalf("mallory's own refresh: %d", w.Code)
	}
}

// TestTossedRefreshCookieSessionGoesOn: with a planted refresh cookie next
// to its own, the victim's browser keeps refreshing its own session.
func TestTossedRefreshCookieSessionGoesOn(t *testing.T) {
	t.Parallel()
	a := newSessionApp(t)
	mux := twoUsers(a)
	mallory := newJarBrowser(t, mux)
	mallory.do("POST", "/auth/login", url.Values{"user": {"mallory"}})
	alice := newJarBrowser(t, mux)
	alice.do("POST", "/auth/login", url.Values{"user": {"alice"}})
	alice.plant(mallory.cookie(refreshName))
	for i := range 3 {
		if w := alice.do("POST", "/auth/refresh", nil); w.Code != 204 {
			t.Fatalf("alice's refresh %d with a planted cookie beside hers: %d", i, w.Code)
		}
		if w := alice.do("GET", "/app", nil); w.Body.String() != "hello alice" {
			t.Fatalf("app after refresh %d: %d %q", i, w.Code, w.Body)
		}
	}
}

// TestRevocationOutlivesAccessTokens: access tokens issued in the last
// minutes of a session's absolute lifetime expire with the session, and
// its revocation is remembered until every access token it covers is
// expired, even for a guard with the longest leeway, and even after the
// store has dropped the family.
func TestRevocationOutlivesAccessTokens(t *testing.T) {
	t.Parallel()
	for _, viaValidator := range []bool{false, true} {
		name := "Revoker"
		if viaValidator {
			name = "deprecated Validator"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := newSessionApp(t)
			cookies := login(t, a)
			const absolute = 7 * 24 * time.Hour
			elapsed := time.Duration(0)
			for elapsed+23*time.Hour < absolute-2*time.Minute { // keep the session alive
				a.clock.Add(23 * time.Hour)
				elapsed += 23 * time.Hour
				if w := a.do(t, "POST", "/auth/refresh", cookies, nil); w.Code != 204 {
					t.Fatalf("refresh at %v: %d", elapsed, w.Code)
				}
			}
			a.clock.Add(absolute - 2*time.Minute - elapsed) // two minutes before the absolute expiry
			if w := a.do(t, "POST", "/auth/refresh", cookies, nil); w.Code != 204 {
				t.Fatalf("last refresh: %d", w.Code)
			}
			// The guard starts now, with the key set the issuer publishes now.
			jwks, _ := a.iss.JWKS()
			check := jwtguard.WithRevocations(a.sessions.Revoker())
			if viaValidator {
				check = jwtguard.WithValidator(a.sessions.Validator())
			}
			g, err := jwtguard.New(t.Context(), jwtguard.WithJWKSet(jwks), jwtguard.WithIssuer(a.iss.URL()), jwtguard.WithAudience("api"),
				jwtguard.WithLeeway(10*time.Minute), jwtguard.WithClock(a.clock.Now),
				jwtguard.WithExtractors(a.sessions.AccessCookie().Extractor()), check)
			if err != nil {
				t.Fatal(err)
			}
			thief := func(access string) int {
				r := httptest.NewRequest("GET", "https://app.example/app", nil)
				r.AddCookie(&http.Cookie{Name: accessName, Value: access})
				w := httptest.NewRecorder()
				g.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(w, r)
				return w.Code
			}
			stolen := cookies[accessName]
			payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(stolen, ".")[1])
			var claims struct{ Exp int64 }
			_ = json.Unmarshal(payload, &claims)
			if left := time.Unix(claims.Exp, 0).Sub(a.clock.Now()); left > 2*time.Minute+time.Second {
				t.Errorf("access token issued 2 min before the session's absolute expiry lives %v more", left)
			}
			if code := thief(stolen); code != 200 {
				t.Fatalf("stolen access token before logout: %d, want 200", code)
			}
			if w := a.do(t, "POST", "/auth/logout", cookies, nil); w.Code != 204 {
				t.Fatalf("logout: %d", w.Code)
			}
			if code := thief(stolen); code != 401 {
				t.Fatalf("stolen access token right after logout: %d, want 401", code)
			}
			// Past the family's absolute expiry: ordinary traffic makes the
			// store prune; the guard's leeway still accepts the token's exp.
			for _, step := range []time.Duration{3 * time.Minute, 5 * time.Minute, 4 * time.Minute} {
				a.clock.Add(step)
				for range 256 {
					login(t, a)
				}
				if code := thief(stolen); code != 401 {
					t.Fatalf("stolen access token of a logged-out session, %v after its exp: %d, want 401",
						a.clock.Now().Sub(time.Unix(claims.Exp, 0)), code)
				}
			}
		})
	}
}

// ctxStore is a MemoryStore that honours its context like a networked store
// (Redis, SQL) does. disconnectAfterUse simulates the client closing its
// connection once the Use round trip is done.
type ctxStore struct {
	*issuer.MemoryStore
	disconnectAfterUse atomic.Pointer[context.CancelFunc]
}

func (s *ctxStore) Use(ctx context.Context, h [32]byte, now time.Time) (issuer.RefreshRecord, error) {
	if err := ctx.Err(); err != nil {
		return issuer.RefreshRecord{}, err
	}
	rec, err := s.MemoryStore.Use(ctx, h, now)
	if c := s.disconnectAfterUse.Swap(nil); c != nil {
		(*c)()
	}
	return rec, err
}

func (s *ctxStore) RevokeFamily(ctx context.Context, f string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.MemoryStore.RevokeFamily(ctx, f)
}

// TestAbortedReuseDetectionStaysReuse: a stale sibling refresh token whose
// presentation is cut short (the client disconnects after Use) is not
// turned into a grace exchange when presented again: the family is
// revoked.
func TestAbortedReuseDetectionStaysReuse(t *testing.T) {
	t.Parallel()
	store := &ctxStore{MemoryStore: issuer.NewMemoryStore(nil)}
	a := newSessionApp(t, issuer.WithStore(store))
	victim := login(t, a)
	thief := victim.clone() // copied while unused

	if w := a.do(t, "POST", "/auth/refresh", victim, nil); w.Code != 204 {
		t.Fatalf("victim refresh: %d", w.Code)
	}
	a.clock.Add(3 * time.Second)
	if w := a.do(t, "POST", "/auth/refresh", thief, nil); w.Code != 204 { // a second tab, as far as anyone can tell
		t.Fatalf("thief grace exchange: %d", w.Code)
	}
	a.clock.Add(time.Minute)
	if w := a.do(t, "POST", "/auth/refresh", victim, nil); w.Code != 204 {
		t.Fatalf("victim second refresh: %d", w.Code)
	}
	// The thief's token is now a stale sibling.
	for attempt := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		if attempt == 0 {
			store.disconnectAfterUse.Store(&cancel)
		}
		r := httptest.NewRequestWithContext(ctx, "POST", "https://app.example/auth/refresh", nil)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		for name, v := range thief {
			r.AddCookie(&http.Cookie{Name: name, Value: v})
		}
		w := httptest.NewRecorder()
		a.mux.ServeHTTP(w, r)
		cancel()
		if w.Code == 204 {
			t.Fatalf("a stale sibling refresh token was exchanged (attempt %d) after its reuse detection was cut short", attempt)
		}
		a.clock.Add(time.Second)
	}
	if w := a.do(t, "GET", "/app", jar{accessName: victim[accessName]}, nil); w.Code != 401 {
		t.Fatalf("family after a stale sibling's replay: %d, want 401 (revoked)", w.Code)
	}
}

// TestIssueRefusesPayloadGuardCannotRead: Issue refuses extra values the
// guard's strict reader refuses (raw JSON with a lone surrogate or invalid
// UTF-8) instead of signing a token nobody can use.
func TestIssueRefusesPayloadGuardCannotRead(t *testing.T) {
	t.Parallel()
	iss, err := issuer.New("https://login.example", issuer.WithAudience("api"))
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]json.RawMessage{
		"lone surrogate":        json.RawMessage(`"\ud800"`),
		"nested lone surrogate": json.RawMessage(`{"a":["\udfff"]}`),
		"invalid UTF-8":         json.RawMessage("\"\xff\""),
	} {
		tok, _, err := iss.Issue("alice", map[string]any{"x": raw})
		if !errors.Is(err, issuer.ErrExtraClaim) {
			payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok+"..", ".")[1])
			_, perr := jwtguard.ClaimsFromJSON(payload)
			t.Errorf("%s: Issue = %v, want ErrExtraClaim (guard reads its payload: %v)", name, err, perr)
		}
	}
	if _, _, err := iss.Issue("alice", map[string]any{"x": json.RawMessage(`"\ud83d\ude00 ok"`)}); err != nil {
		t.Errorf("a valid surrogate pair refused: %v", err)
	}
}

func (j jar) clone() jar {
	c := jar{}
	for k, v := range j {
		c[k] = v
	}
	return c
}

// TestMemoryStoreStaleSiblingStaysUnused: Use of a token older than its
// family's newest generation never marks it used, so each of its uses is
// reported as the stale first use it is (and revokes the family), not as a
// reuse within the grace window.
func TestMemoryStoreStaleSiblingStaysUnused(t *testing.T) {
	t.Parallel()
	now := time.Now()
	s := issuer.NewMemoryStore(func() time.Time { return now })
	for i, h := range [][32]byte{{1}, {2}} { // siblings of generation 0
		if err := s.Create(t.Context(), issuer.RefreshRecord{Hash: h, Family: "f", Subject: "alice",
			IdleExpiry: now.Add(time.Hour), FamilyExpiry: now.Add(2 * time.Hour)}); err != nil {
			t.Fatal(i, err)
		}
	}
	if r, err := s.Use(t.Context(), [32]byte{1}, now); err != nil || !r.UsedAt.IsZero() || r.FamilyHead != 0 {
		t.Fatalf("first use of the newest generation: %+v, %v", r, err)
	}
	for i := range 3 {
		r, err := s.Use(t.Context(), [32]byte{2}, now.Add(time.Duration(i)*time.Second))
		if err != nil || !r.UsedAt.IsZero() || r.Reuses != 0 || r.FamilyHead != 1 {
			t.Fatalf("use %d of the stale sibling: %+v, %v; want unused, head 1", i, r, err)
		}
	}
}

// TestSessionsWithoutSecure: with jwtguard.InsecureCookieWithoutSecure
// (local development over http) the cookies lose their prefixes and the
// session flow still works.
func TestSessionsWithoutSecure(t *testing.T) {
	t.Parallel()
	a := newSessionApp(t, issuer.WithSessionCookieOptions(jwtguard.InsecureCookieWithoutSecure()))
	cookies := login(t, a)
	if len(cookies) != 3 || cookies["access_token"] == "" || cookies["refresh_token"] == "" || cookies["session_binding"] == "" {
		t.Fatalf("cookies after login: %v", cookies)
	}
	if w := a.do(t, "POST", "/auth/refresh", cookies, nil); w.Code != 204 {
		t.Fatalf("refresh: %d", w.Code)
	}
	if w := a.do(t, "GET", "/app", cookies, nil); w.Code != 200 {
		t.Fatalf("app: %d", w.Code)
	}
	if w := a.do(t, "POST", "/auth/refresh", jar{"refresh_token": cookies["refresh_token"]}, nil); w.Code != 401 {
		t.Fatalf("refresh without the binding: %d, want 401", w.Code)
	}
	if w := a.do(t, "POST", "/auth/logout", cookies, nil); w.Code != 204 || len(cookies) != 0 {
		t.Fatalf("logout: %d, cookies left %v", w.Code, cookies)
	}
}
